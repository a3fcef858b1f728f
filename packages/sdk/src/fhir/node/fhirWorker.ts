/**
 * Worker thread of {@link FhirWorkerPool}: loads the R4 definitions once, then validates and splits the
 * inputs it is sent. Records go back without their `resource` object: the pool parses `canonicalJson`
 * again (cheaper than cloning the object graph).
 */
import { parentPort } from 'node:worker_threads';
import { setDefaultCryptoBackend } from '../../crypto/backend.ts';
import { nodeCryptoBackend } from '../../crypto/node/nodeBackend.ts';
import { FhirParseError, FhirValidationError } from '../../errors/fhir.ts';
import { loadR4Definitions } from '../loadR4Definitions.ts';
import { splitIntoRecords } from '../splitIntoRecords.ts';
import { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';
import type { WorkerReply, WorkerRequest } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('fhirWorker.ts runs only as a worker thread');
// OpenSSL's SHA-256 for the records' digests (the thread's own module instances start with noble's backend).
setDefaultCryptoBackend(nodeCryptoBackend);

const ready = loadR4Definitions({ sources: nodeR4DefinitionSources });

port.on('message', async (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    await ready;
    const { records, outcome } = await splitIntoRecords({ ...request.options, input: request.input });
    reply = {
      id: request.id,
      ok: true,
      records: records.map(({ resource: _resource, ...rest }) => rest),
      outcome,
    };
  } catch (error) {
    if (error instanceof FhirParseError) {
      const { cause: _cause, ...parameters } = error.parameters;
      reply = { id: request.id, ok: false, kind: 'parse', problem: error.problem, parameters };
    } else if (error instanceof FhirValidationError) {
      reply = { id: request.id, ok: false, kind: 'validation', outcome: error.outcome };
    } else {
      reply = { id: request.id, ok: false, kind: 'other', message: String((error as Error)?.stack ?? error) };
    }
  }
  port.postMessage(reply);
});
