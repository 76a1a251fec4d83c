DROP TABLE stock_movements;
DROP TABLE account_book_items;
DROP TABLE positive_list;
DROP TABLE api_keys;
DROP TABLE enterprises;
