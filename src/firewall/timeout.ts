/**
 * The longest element timeout Gatehouse hands the kernel. Measured in a scratch namespace (nft 1.0.6,
 * kernel 6.18): nft's parser refuses any number above 99,999,999 in a time ("value too large" for
 * `timeout 100000000s`, and for `99999999999ms`), while the kernel takes up to 2^64 ns (213503d; one day
 * more is "Numerical result out of range") and `nft -j list set` reads back exactly what was set.
 * 1000 days sits safely under the parser's limit; decisions that last longer are rendered with this
 * timeout and re-asserted by the enforcer before it runs out (see Enforcer.reassertDue).
 */
export const KERNEL_TIMEOUT_CAP_SEC = 1000 * 86_400;

/**
 * The one place a timeout becomes what nft may see: a whole number of seconds from 1 to the cap. A value
 * that is not a number at all (NaN) gets the cap: the element is enforced, and re-asserted like any long one.
 */
export function kernelTimeoutSec(sec: number): number {
  if (Number.isNaN(sec)) return KERNEL_TIMEOUT_CAP_SEC;
  return Math.min(KERNEL_TIMEOUT_CAP_SEC, Math.max(1, Math.ceil(sec)));
}

/** Seconds to render for an element that expires at `expiresAt` (epoch ms); undefined once it is over. */
export function timeoutUntil(expiresAt: number, now: number): number | undefined {
  if (Number.isNaN(expiresAt)) return KERNEL_TIMEOUT_CAP_SEC;
  const ms = expiresAt - now;
  return ms > 0 ? kernelTimeoutSec(ms / 1000) : undefined;
}
