-- The blocks and the files of a published revision were kept frozen by two functions that differed in
-- one word (clubos_page_block_frozen, clubos_page_file_frozen). One function now serves both tables,
-- told which part it guards by its trigger's argument (../functions/clubos_page_part_frozen.sql, applied
-- in this migration's transaction, so the tables are never without their trigger).
DROP TRIGGER IF EXISTS page_blocks_frozen ON page_blocks;
DROP TRIGGER IF EXISTS page_files_frozen ON page_files;
DROP FUNCTION IF EXISTS clubos_page_block_frozen();
DROP FUNCTION IF EXISTS clubos_page_file_frozen();
-- Their function files are gone: the runner would otherwise report them as unknown (RETIRED_FUNCTIONS).
DELETE FROM schema_functions WHERE name IN ('clubos_page_block_frozen.sql', 'clubos_page_file_frozen.sql');
