// The known credentials of generated data. Fine on a laptop and fatal anywhere else, so every unit
// whose code reaches this module is `localOnly` (test/deploy-safety.test.ts checks that no
// synthesised unit does).

/** The `demo` account that `demo-seed` creates on an empty database. */
export const DEMO_LOGIN = 'demo';
export const DEMO_PASSWORD = 'demo-password';
/** The password of every generated user (`seed`, `demo-seed`), unless the caller picks another. */
export const SEED_PASSWORD = 'password';
