-- Block runs the pipeline file does not list one by one: the runs of a block inside a dynamic
-- block's fan-out, one per item (`name:0`, `name:1`, …, `item` the index and `parent` the
-- block), and callback blocks (`parent` the block whose outcome they ran on). NULL for the rest.
ALTER TABLE block_runs ADD COLUMN parent TEXT;
ALTER TABLE block_runs ADD COLUMN item BIGINT;
