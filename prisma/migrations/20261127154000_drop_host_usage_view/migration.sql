-- host_usage passed host.td_count and host.allocated_vcpus through unchanged since the
-- host_usage_columns migration; the rules read those columns directly.
DROP VIEW "host_usage";
