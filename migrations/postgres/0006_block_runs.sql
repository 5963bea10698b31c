-- A run may be limited to some blocks (`ironmage run --block/--from-block`, or the REST body's
-- `block`/`from_block`): the mode (`block` or `from_block`) and the block it names. NULL for a
-- run of the whole pipeline.
ALTER TABLE runs ADD COLUMN scope TEXT;
ALTER TABLE runs ADD COLUMN scope_block TEXT;
