/** CDS Hooks in the gateway: "already done elsewhere" cards for draft orders (docs/gateway.md, "CDS Hooks"). */
export {
  CDS_SERVICES,
  type CdsCaller,
  type CdsContext,
  type CdsHttpRequest,
  type CdsHttpResponse,
  type CreateCdsHooksHandlerParameters,
  cdsHooksHandler,
  createCdsHooksHandler,
} from './cdsHooksHandler.ts';
export {
  type CdsCard,
  DEFAULT_WINDOWS,
  type DuplicateWindows,
  type FindDuplicateOrdersParameters,
  findDuplicateOrders,
} from './findDuplicateOrders.ts';
export {
  type CdsHook,
  type CdsRequest,
  CdsRequestError,
  type DraftOrder,
  MAX_DRAFT_ORDERS,
  ordersToCheck,
  parseCdsRequest,
} from './parseCdsRequest.ts';
