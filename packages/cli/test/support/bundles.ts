/**
 * A collection Bundle of one Patient (female) and one Observation about them whose `code.text` is `text`: a patient's
 * smallest record set. Other ids give another patient's (or a later import's) records.
 */
export function patientObservationBundle(
  text = 'haemoglobin',
  ids: { patient: string; observation: string } = {
    patient: '4c1b0a9e-2f3d-4e5a-8b7c-6d5e4f3a2b1c',
    observation: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
  },
) {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: `urn:uuid:${ids.patient}`,
        resource: { resourceType: 'Patient', id: ids.patient, gender: 'female' },
      },
      {
        fullUrl: `urn:uuid:${ids.observation}`,
        resource: {
          resourceType: 'Observation',
          id: ids.observation,
          status: 'final',
          code: { text },
          subject: { reference: `urn:uuid:${ids.patient}` },
        },
      },
    ],
  };
}
