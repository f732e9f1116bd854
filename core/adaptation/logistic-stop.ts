/** Why a logistic fit ended; apart from logistic-regression.ts so AdaptReport reaches no TF.js types. */
export type LogisticStop = 'converged' | 'max-iterations' | 'no-progress';
