-- Run once as the postgres superuser: a role and a database for vaat.
-- vaat creates and migrates its tables on first start (vaat_schema holds the version).
CREATE ROLE vaat LOGIN;
CREATE DATABASE vaat OWNER vaat;
