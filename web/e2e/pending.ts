// Backend features the end-to-end journey needs that have not landed yet.
// A test that needs one is marked test.fixme with the reason; delete the entry
// when the feature lands and the test runs for real. Nothing here fakes data.
export const PENDING: Partial<Record<'demoFleet' | 'sshDecky' | 'ingest' | 'sessionReplay' | 'enrollment', string>> = {
  demoFleet: '`decnet-master up` does not deploy the demo fleet on its embedded agent yet',
  sshDecky: 'no SSH decky listens on loopback yet (templates SSH emulator + embedded agent)',
  ingest: 'decky events are not ingested into PostgreSQL / published on /stream yet (durable ingest)',
  sessionReplay: 'SSH sessions are not recorded and served by GET /sessions/{sid}/cast yet',
  enrollment: '`decnet-master up` has no mesh enrollment endpoint yet (POST /hosts/enroll-token answers 503)',
};

/** The reason a test cannot run yet, naming every missing feature, or undefined. */
export function missing(...features: (keyof typeof PENDING)[]): string | undefined {
  const reasons = features.map((f) => PENDING[f]).filter((r): r is string => !!r);
  return reasons.length ? `needs: ${reasons.join('; ')}` : undefined;
}
