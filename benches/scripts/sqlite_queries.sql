-- Index and query part of the sqlite3 workload. The harness prepends the
-- schema and generated INSERT statements (see inputs.rs), then runs the
-- whole script with `sqlite3 DB .read SCRIPT` in a fresh directory.
CREATE INDEX items_k ON items(k);
CREATE INDEX items_name ON items(name);
CREATE INDEX items_tag_v ON items(tag, v);
SELECT count(*), sum(k), printf('%.2f', sum(v)) FROM items;
SELECT tag, count(*), printf('%.2f', avg(v)) FROM items GROUP BY tag ORDER BY tag;
SELECT k, count(*) AS c FROM items GROUP BY k ORDER BY c DESC, k LIMIT 5;
SELECT count(*) FROM items a JOIN items b ON a.k = b.k AND a.id < b.id WHERE a.id % 16 = 0;
SELECT name, k FROM items WHERE name >= 'ma' ORDER BY name, id LIMIT 5;
SELECT count(*) FROM items WHERE name LIKE '%ki%';
UPDATE items SET v = v * 2 WHERE k % 3 = 0;
DELETE FROM items WHERE k % 5 = 0;
SELECT count(*), printf('%.2f', sum(v)) FROM items;
SELECT tag, max(v), min(name) FROM items WHERE v > 50 GROUP BY tag ORDER BY tag;
