/* sk_sql_chars: characters as PostgreSQL's scanner sees them, for the
 * splitter (sk_sql.c) and the ops (sk_sql_ops.c) alike. */
#include "sk_sql_int.h"

bool
sql_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

char
sql_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}
