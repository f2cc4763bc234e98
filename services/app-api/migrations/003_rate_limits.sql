-- Rate-limit windows shared by every api replica (see src/domain/rate-limit.ts). Unlogged: after a
-- crash the counters start again from zero, which only forgives a few requests.
CREATE UNLOGGED TABLE rate_limits (
  key         text PRIMARY KEY,
  window_ends timestamptz NOT NULL,
  hits        integer NOT NULL
);
