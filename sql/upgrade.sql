-- the upgrade chain: install the first release, then update to the newest
DROP EXTENSION ipflow;
CREATE EXTENSION ipflow VERSION '0.1.0';
ALTER EXTENSION ipflow UPDATE;
SELECT extversion = default_version AS up_to_date
  FROM pg_extension JOIN pg_available_extensions ON name = extname
 WHERE extname = 'ipflow';
-- the roles survive a reinstall and keep their membership
SELECT pg_has_role('ipflow_admin', 'ipflow_reader', 'MEMBER') AS admin_reads;
