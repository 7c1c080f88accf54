// How much of a fuzz test's runs must surely reach a part of the code, so
// that a generator that stopped reaching it fails the test while a valid but
// unlucky seed does not (short of odds of one CI run in a billion).
//
// The runs are drawn independently. `rate` is a conservative reading of what
// a large run measured: a lower bound of the true rate, so the bounds below
// only get safer when the true rate is higher. Few runs (a replay with
// FUZZ_RUNS=10) give 0: no claim.

/** Odds of a false failure the thresholds allow. */
const FALSE_FAILURE = 1e-9;

/**
 * Runs that surely do something each run does with probability `rate`: the
 * largest k with P(Binomial(runs, rate) < k) <= FALSE_FAILURE.
 */
export function surelyAtLeast(rate: number, runs: number): number {
  if (rate <= 0) return 0;
  if (rate >= 1) return runs;
  const limit = Math.log(FALSE_FAILURE);
  let logTerm = runs * Math.log1p(-rate); // log P(X = k), from k = 0
  let logBelow = -Infinity; // log P(X < k)
  for (let k = 0; k < runs; k += 1) {
    const logUpTo = logSum(logBelow, logTerm); // log P(X <= k)
    if (logUpTo > limit) return k;
    logBelow = logUpTo;
    logTerm += Math.log((runs - k) / (k + 1)) + Math.log(rate / (1 - rate));
  }
  return runs;
}

/**
 * The sum that surely comes of runs each adding between 0 and `perRun`, on
 * average at least `rate`: by Hoeffding's inequality the sum falls t·perRun·runs
 * below its expectation with probability at most exp(-2·runs·t²).
 */
export function surelySumAtLeast(rate: number, runs: number, perRun: number): number {
  const slack = perRun * Math.sqrt(Math.log(1 / FALSE_FAILURE) / (2 * runs));
  return Math.max(0, Math.floor((rate - slack) * runs));
}

function logSum(a: number, b: number): number {
  if (a === -Infinity) return b;
  const high = Math.max(a, b);
  return high + Math.log(Math.exp(a - high) + Math.exp(b - high));
}
