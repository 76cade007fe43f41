-- Z0DAN for spock (this project): the procedures of Spock 5's zodan.sql ship with the
-- extension, so this file defines nothing. It is here for users who follow Spock's tutorial
-- and load it with \i before CALL spock.add_node(...); loading it into a database that has the
-- extension is harmless. See docs/add-node.md.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'spock') THEN
        RAISE EXCEPTION 'the spock extension is not installed in this database'
            USING ERRCODE = '55000', HINT = 'CREATE EXTENSION spock; spock.add_node comes with it.';
    END IF;
    RAISE NOTICE 'spock.add_node() ships with the spock extension; nothing to load';
END
$$;
