import {
  allCodeKeys,
  DICOM_DCM,
  type Fact,
  type LabResult,
  type PatientIndex,
  type RecordSource,
  SNOMED,
  timeOf,
} from '@carekey/sdk/clinical';
import type { DiagnosticReport, ImagingStudy } from '@medplum/fhirtypes';
import type { DraftOrder } from './parseCdsRequest.ts';

/** How far back a done test counts as "recent", in days. */
export type DuplicateWindows = { labDays: number; imagingDays: number };

/** Default windows: a lab test within 30 days, an imaging study within 90 days. */
export const DEFAULT_WINDOWS: DuplicateWindows = { labDays: 30, imagingDays: 90 };

/** A CDS Hooks card (https://cds-hooks.hl7.org/2.0/#card-attributes). */
export type CdsCard = {
  uuid: string;
  summary: string;
  detail: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; topic?: { system: string; code: string; display: string } };
  links: { label: string; url: string; type: 'absolute' }[];
  suggestions?: {
    label: string;
    uuid: string;
    isRecommended?: boolean;
    actions: { type: 'delete'; description: string; resourceId: string[] }[];
  }[];
  selectionBehavior?: 'at-most-one';
};

export type FindDuplicateOrdersParameters = {
  index: PatientIndex;
  orders: readonly DraftOrder[];
  now: Date;
  windows?: DuplicateWindows;
  /** The gateway FHIR read URL of a source record, when it has one. */
  linkOf: (source: RecordSource) => string | undefined;
  /** A fresh card id (default `crypto.randomUUID`). */
  uuid?: () => string;
};

const DAY = 86_400_000;
const IMAGING_CATEGORY = '363679005';

type Match = { fact: Fact; date: string; what: string };

function custodianLabel(source: RecordSource): string {
  if (source.custodianName !== undefined) return source.custodianName;
  const c = source.custodian;
  return /^0x[0-9a-fA-F]{40}$/u.test(c) ? `${c.slice(0, 6)}…${c.slice(-4)}` : c;
}

function where(sources: readonly RecordSource[]): string {
  return [...new Set(sources.map(custodianLabel))].join(' and ');
}

function ago(now: number, date: string): string {
  const days = Math.floor((now - (timeOf(date) ?? now)) / DAY);
  return days <= 0 ? 'today' : days === 1 ? 'yesterday' : `${days} days ago`;
}

function recent(date: string | undefined, now: number, days: number): date is string {
  const t = timeOf(date);
  return t !== undefined && t <= now && now - t <= days * DAY;
}

function shorten(text: string, max = 140): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function labLine(lab: LabResult): string {
  const value = lab.value === undefined ? 'no value' : `${lab.value}${lab.unit ? ` ${lab.unit}` : ''}`;
  const range = lab.referenceRange;
  const bounds =
    range === undefined
      ? ''
      : range.text !== undefined
        ? ` (reference ${range.text})`
        : ` (reference ${range.low ?? ''}–${range.high ?? ''}${range.unit ? ` ${range.unit}` : ''})`;
  return `${value}${bounds}${lab.flag ? `, flag **${lab.flag}**` : ''}`;
}

/**
 * Cards for draft orders that repeat something recent (docs/gateway.md, "CDS Hooks"):
 *
 * - a ServiceRequest whose code (any coding) is the code of a lab result or DiagnosticReport of the last
 *   `labDays` (default 30): where, when and the result;
 * - a ServiceRequest for imaging — a code shared with an ImagingStudy's procedure code, or a DICOM modality
 *   code (and, when the order names one, the same body site) — with a study in the last `imagingDays` (90);
 * - a MedicationRequest for a medication the patient is on (an active MedicationRequest or
 *   MedicationStatement with a shared code).
 *
 * One card per draft order, with a link to each source record and a suggestion to delete the draft order.
 */
export function findDuplicateOrders(parameters: FindDuplicateOrdersParameters): CdsCard[] {
  const { index, orders } = parameters;
  const windows = parameters.windows ?? DEFAULT_WINDOWS;
  const now = parameters.now.getTime();
  const uuid = parameters.uuid ?? (() => crypto.randomUUID());
  const reports = index.timeline.filter(
    (e) => e.resourceType === 'DiagnosticReport',
  ) as unknown as (Fact<DiagnosticReport> & {
    date: string;
    display: string;
  })[];
  const cards: CdsCard[] = [];
  for (const order of orders) {
    const matches: Match[] = [];
    let kind: 'lab test' | 'imaging study' | 'medication';
    if (order.resourceType === 'ServiceRequest') {
      const codes = new Set(allCodeKeys(order.code));
      const modality = (order.code?.coding ?? []).find((c) => c.system === DICOM_DCM)?.code;
      const sites = new Set((order.bodySite ?? []).flatMap((s) => allCodeKeys(s)));
      const imagingOrder =
        modality !== undefined ||
        (order.category ?? []).some((c) =>
          c.coding?.some((x) => x.system === SNOMED && x.code === IMAGING_CATEGORY),
        );
      kind = imagingOrder ? 'imaging study' : 'lab test';
      for (const lab of index.labs) {
        if (
          recent(lab.date, now, windows.labDays) &&
          allCodeKeys(lab.resource.code).some((k) => codes.has(k))
        )
          matches.push({ fact: lab, date: lab.date, what: `${lab.code.display}: ${labLine(lab)}` });
      }
      for (const report of reports) {
        const isLab = (report.resource.category ?? []).some((c) => c.coding?.some((x) => x.code === 'LAB'));
        const days = isLab ? windows.labDays : windows.imagingDays;
        if (recent(report.date, now, days) && allCodeKeys(report.resource.code).some((k) => codes.has(k))) {
          const results = (report.resource.result ?? []).length;
          matches.push({
            fact: report,
            date: report.date,
            what: `${report.display}${report.resource.conclusion ? `: ${report.resource.conclusion}` : results > 0 ? ` (${results} results)` : ''}`,
          });
        }
      }
      for (const study of index.imaging) {
        if (!recent(study.date, now, windows.imagingDays)) continue;
        const s = study.resource as ImagingStudy;
        const byProcedure = (s.procedureCode ?? []).some((p) => allCodeKeys(p).some((k) => codes.has(k)));
        const byModality =
          modality !== undefined &&
          study.modalities.some((m) => m.system === DICOM_DCM && m.code === modality) &&
          (sites.size === 0 || study.bodySites.some((b) => sites.has(`${b.system ?? ''}|${b.code}`)));
        if (byProcedure || byModality) {
          const what = [
            study.modalities.map((m) => m.display).join(', '),
            study.bodySites.map((b) => b.display).join(', '),
          ]
            .filter((x) => x !== '')
            .join(' of ');
          matches.push({
            fact: study,
            date: study.date,
            what: `${study.description ?? 'Imaging study'} (${what})`,
          });
        }
      }
    } else {
      kind = 'medication';
      const codes = new Set(allCodeKeys(order.medicationCodeableConcept));
      for (const medication of index.medications) {
        if (!medication.active) continue;
        const key = `${medication.code.system ?? ''}|${medication.code.code ?? ''}`;
        if (medication.code.code !== undefined && codes.has(key))
          matches.push({
            fact: medication,
            date: medication.date ?? '',
            what: `${medication.code.display} (${medication.status})`,
          });
      }
    }
    if (matches.length === 0) continue;
    matches.sort((a, b) => (timeOf(b.date) ?? 0) - (timeOf(a.date) ?? 0));
    const latest = matches[0] as Match;
    const orderName =
      order.resourceType === 'ServiceRequest'
        ? (order.code?.text ??
          order.code?.coding?.[0]?.display ??
          order.code?.coding?.[0]?.code ??
          'this order')
        : (order.medicationCodeableConcept?.text ??
          order.medicationCodeableConcept?.coding?.[0]?.display ??
          'this medication');
    const summary =
      kind === 'medication'
        ? `Already on ${orderName}: active since ${latest.date.slice(0, 10) || 'an unknown date'} (${where(latest.fact.sources)})`
        : `${orderName} already done ${ago(now, latest.date)} at ${where(latest.fact.sources)}`;
    const detail = [
      kind === 'medication'
        ? `The patient has an active prescription for this medication:`
        : `The same ${kind} was done recently (within ${kind === 'lab test' ? windows.labDays : windows.imagingDays} days):`,
      '',
      ...matches
        .slice(0, 5)
        .map((m) => `- ${m.date.slice(0, 10)} at **${where(m.fact.sources)}**: ${m.what}`),
    ].join('\n');
    const links = matches.slice(0, 5).flatMap((m) =>
      m.fact.sources.flatMap((source) => {
        const url = parameters.linkOf(source);
        return url === undefined
          ? []
          : [
              {
                label: shorten(
                  `${m.fact.resource.resourceType} of ${m.date.slice(0, 10)} from ${custodianLabel(source)}`,
                  80,
                ),
                url,
                type: 'absolute' as const,
              },
            ];
      }),
    );
    const card: CdsCard = {
      uuid: uuid(),
      summary: shorten(summary),
      detail,
      indicator: 'warning',
      source: {
        label: 'Carekey patient index',
        topic: {
          system: 'urn:carekey:cds',
          code: kind === 'medication' ? 'duplicate-medication' : 'duplicate-order',
          display: 'Duplicate order',
        },
      },
      links,
    };
    if (order.id !== undefined) {
      card.selectionBehavior = 'at-most-one';
      card.suggestions = [
        {
          label: kind === 'medication' ? 'Remove the new prescription' : 'Remove the new order',
          uuid: uuid(),
          isRecommended: false,
          actions: [
            {
              type: 'delete',
              description: `Remove the draft ${order.resourceType}/${order.id}`,
              resourceId: [`${order.resourceType}/${order.id}`],
            },
          ],
        },
      ];
    }
    cards.push(card);
  }
  return cards;
}
