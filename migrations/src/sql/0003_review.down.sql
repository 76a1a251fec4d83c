DROP TABLE audit_log;
DROP TABLE officer_sessions;
DROP TABLE officers;
