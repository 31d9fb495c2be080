-- Databases of the distributed stack (the "reelhouse" database itself is created by POSTGRES_DB):
-- "reelhouse" holds the Iceberg SQL catalog (pyiceberg writes it, Trino reads it), "dagster" holds
-- Dagster's runs, event logs and schedules.
CREATE DATABASE dagster OWNER reelhouse;
