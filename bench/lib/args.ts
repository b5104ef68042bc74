/** A command-line count: "100000" or "100_000"; anything else is an error naming the flag. */
export function positiveInt(name: string, v: string): number {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Runs `cleanup` (namespace, servers, temp files) when the benchmark is interrupted, then exits 130.
 * Returns the function that removes the handlers once the benchmark cleans up by itself.
 */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>, log: (line: string) => void): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
