-- perfbot: no-transaction
-- Chat looks operation names up case-insensitively and suggests names sharing a prefix: both
-- through this index rather than a scan of 30 days of hourly rollups per command.
CREATE INDEX CONCURRENTLY IF NOT EXISTS operations_folded ON perfbot.operations (lower(name) text_pattern_ops);
