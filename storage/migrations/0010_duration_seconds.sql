-- A grant's duration in seconds (it was whole days), so a policy can offer hours: PT1H, PT4H.
-- NULL still means permanent. Existing rows keep their length: days become seconds.
ALTER TABLE requests RENAME COLUMN duration_days TO duration;
UPDATE requests SET duration = duration * 86400 WHERE duration IS NOT NULL;
