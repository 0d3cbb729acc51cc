/* Unit tests of json_tree.c: trees from Postgres' JSON parser. */
#include "postgres_fe.h"

#include "json_tree.h"
#include "tap.h"

static void
invalid(const char *json, const char *because)
{
	char	   *error = NULL;
	JsonNode   *root = JsonTreeParse(json, strlen(json), &error);

	ok(root == NULL && error != NULL && strstr(error, because) != NULL,
	   "rejects %s: %s", json, error ? error : "(accepted)");
	JsonTreeFree(root);
	if (error)
		pfree(error);
}

int
main(void)
{
	const char *doc = "{\"a\": [1, -2.5e3, \"x\\u00e9\\n\", true, false, null], \"b\": {}, \"a\": 7}";
	char	   *error = NULL;
	JsonNode   *root = JsonTreeParse(doc, strlen(doc), &error);
	const JsonNode *a;
	char		deep[200];
	int			i;

	ok(root != NULL && error == NULL, "parses a document");
	ok(root->kind == JSON_NODE_OBJECT && root->count == 3, "root is an object of 3 members");
	is_str(root->keys[0], "a", "member names keep input order");
	a = root->items[0];
	ok(a->kind == JSON_NODE_ARRAY && a->count == 6, "array of 6");
	is_str(a->items[1]->text, "-2.5e3", "numbers keep their token");
	ok(a->items[1]->kind == JSON_NODE_NUMBER, "number kind");
	is_str(a->items[2]->text, "x\xc3\xa9\n", "strings are unescaped to UTF-8");
	ok(a->items[3]->kind == JSON_NODE_TRUE && a->items[4]->kind == JSON_NODE_FALSE &&
	   a->items[5]->kind == JSON_NODE_NULL, "true, false, null");
	ok(JsonTreeMember(root, "b")->kind == JSON_NODE_OBJECT &&
	   JsonTreeMember(root, "b")->count == 0, "empty object");
	is_str(JsonTreeMember(root, "a")->text, "7", "a repeated key: the last one wins");
	ok(JsonTreeMember(root, "zz") == NULL, "missing member is NULL");
	ok(JsonTreeMember(a, "a") == NULL, "members of a non-object are NULL");
	JsonTreeFree(root);

	invalid("", "ends unexpectedly");
	invalid("{", "ends unexpectedly");
	invalid("{\"a\" 1}", "expected \":\"");
	invalid("{\"a\": 1,}", "expected a string");
	invalid("[1 2]", "expected \",\" or \"]\"");
	invalid("{\"a\": 1} x", "invalid token");
	invalid("{\"a\": 1} 2", "expected end of input");
	invalid("{'a': 1}", "invalid token");
	/* a scalar followed by a bad token: no copy of the scalar may leak */
	invalid("[1 @]", "invalid token");
	invalid("{\"a\": \"b\" @}", "invalid token");
	invalid("7 @", "invalid token");
	invalid("\"\\u00zz\"", "four hexadecimal digits");
	invalid("\"\\u0000\"", "\\u0000");
	invalid("\"\\q\"", "invalid escape");
	invalid("\"a\tb\"", "must be escaped");
	invalid("01", "invalid token");

	for (i = 0; i < 100; i++)
		deep[i] = '[';
	for (i = 100; i < 200; i++)
		deep[i] = ']';
	root = JsonTreeParse(deep, 200, &error);
	ok(root == NULL && strstr(error, "deeper than 64") != NULL,
	   "refuses nesting deeper than 64 before parsing");
	pfree(error);
	root = JsonTreeParse(deep + 36, 128, &error);
	ok(root != NULL && JsonNestingDepth(deep + 36, 128) == 64, "accepts nesting of exactly 64");
	JsonTreeFree(root);
	is_int(JsonNestingDepth("[\"[[[\\\"[[\"]", 12), 1, "brackets inside strings do not count");
	return tap_done();
}
