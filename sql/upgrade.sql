-- the upgrade chain: install the first release, then update to the newest
DROP EXTENSION ipflow;
CREATE EXTENSION ipflow VERSION '0.1.0';
ALTER EXTENSION ipflow UPDATE;
SELECT extversion = default_version AS up_to_date
  FROM pg_extension JOIN pg_available_extensions ON name = extname
 WHERE extname = 'ipflow';
-- the roles survive a reinstall and keep their membership
SELECT pg_has_role('ipflow_admin', 'ipflow_reader', 'MEMBER') AS admin_reads;
-- an updated install has exactly what a fresh one has: objects, columns,
-- function signatures, indexes, view definitions, privileges
CREATE FUNCTION pg_temp.ipflow_schema() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
   WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ipflow')
  UNION ALL
  SELECT format('%s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'ipflow'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  UNION ALL
  SELECT format('%s(%s) -> %s %s', p.proname, pg_get_function_identity_arguments(p.oid),
                pg_get_function_result(p.oid), p.proacl)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'ipflow'
  UNION ALL
  SELECT indexdef FROM pg_indexes WHERE schemaname = 'ipflow'
  UNION ALL
  SELECT format('view %s: %s', c.relname, pg_get_viewdef(c.oid))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'ipflow'
   WHERE c.relkind = 'v'
  UNION ALL
  SELECT format('%s %s %s', c.relname, c.relacl, c.reloptions)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'ipflow'
$$;
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.ipflow_schema() AS s(item);
DROP EXTENSION ipflow;
CREATE EXTENSION ipflow;
SELECT 'only after update' AS side, item FROM (SELECT item FROM updated EXCEPT SELECT s.item FROM pg_temp.ipflow_schema() AS s(item)) AS a
UNION ALL
SELECT 'only when fresh', item FROM (SELECT s.item FROM pg_temp.ipflow_schema() AS s(item) EXCEPT SELECT item FROM updated) AS b
ORDER BY 1, 2;
