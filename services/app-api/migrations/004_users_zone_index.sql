-- The weekly-digest cron reads each due time zone's opted-in users in id order.
CREATE INDEX users_digest_zone_idx ON users (time_zone, id) WHERE digest_opt_in;
