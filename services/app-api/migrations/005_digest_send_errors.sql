-- Why a digest was not sent: a digest that cannot be built (an address with a line break, a render
-- that throws) fails its own user with the reason here, and the rest of the batch is sent.
ALTER TABLE digest_sends ADD COLUMN error text;
