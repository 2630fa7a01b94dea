-- The production server and the local stand-in use the same database name, so it is
-- hard-coded in every migration rather than templated.
CREATE DATABASE IF NOT EXISTS prices;
