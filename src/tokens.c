/*-------------------------------------------------------------------------
 *
 * tokens.c
 *	  API tokens: issuing, rolling and verifying bearer strings.
 *
 * A bearer string looks like
 *
 *		sstk_<token id, 32 hex>_<secret, 43 base64url>_<CRC-32C, 8 hex>
 *
 * The prefix lets secret scanners recognise leaked tokens and the checksum
 * lets them (and us) reject mistyped or truncated strings without a lookup.
 * The secret is 256 bits from pg_strong_random().  Only its SHA-256 is
 * stored, in api_token_secrets, a table nobody but its owner can read; the
 * string itself is returned once and never written to a table, a log line or
 * an error.  Verification is one index lookup by token id and a
 * constant-time comparison of hashes.
 *
 * Every verification failure is the same SQLSTATE 28000 error with the same
 * message; the reason goes to the server log only, and neither line repeats
 * the statement (which holds the bearer string).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "port/pg_crc32c.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_authenticate);
PG_FUNCTION_INFO_V1(ss_create_api_token);
PG_FUNCTION_INFO_V1(ss_roll_api_token);

#define TOKEN_PREFIX		"sstk_"
#define TOKEN_PREFIX_LEN	5
#define TOKEN_ID_HEX_LEN	32
#define TOKEN_SECRET_BYTES	32
#define TOKEN_SECRET_LEN	43	/* base64url of 32 bytes, unpadded */
#define TOKEN_CRC_LEN		8
#define TOKEN_ID_OFFSET		TOKEN_PREFIX_LEN
#define TOKEN_SECRET_OFFSET (TOKEN_ID_OFFSET + TOKEN_ID_HEX_LEN + 1)
#define TOKEN_CRC_OFFSET	(TOKEN_SECRET_OFFSET + TOKEN_SECRET_LEN + 1)
#define TOKEN_LEN			(TOKEN_CRC_OFFSET + TOKEN_CRC_LEN)

static const char base64url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
ss_uuid_string(const pg_uuid_t *id)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id)));
}

/* ---------------------------------------------------------------------
 * The bearer string
 * ---------------------------------------------------------------------
 */

static void
base64url_encode(const uint8 *in, int len, char *out)
{
	int			o = 0;
	uint32		buf = 0;
	int			bits = 0;

	for (int i = 0; i < len; i++)
	{
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			out[o++] = base64url[(buf >> bits) & 0x3F];
		}
	}
	if (bits > 0)
		out[o++] = base64url[(buf << (6 - bits)) & 0x3F];
	out[o] = '\0';
}

static uint32
token_crc(const char *token, int len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, token, len);
	FIN_CRC32C(crc);
	return crc;
}

static void
sha256(const char *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
}

/* compare without leaking, through timing, how many leading bytes match */
static bool
constant_time_equal(const uint8 *a, const uint8 *b, size_t len)
{
	volatile uint8 diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/*
 * A new bearer string for a token id, and the SHA-256 of its secret part.
 * The caller zeroes the string when done with it.
 */
static char *
new_bearer_string(const pg_uuid_t *token_id, uint8 *hash)
{
	uint8		secret[TOKEN_SECRET_BYTES];
	char	   *token = palloc(TOKEN_LEN + 1);
	char		hex[TOKEN_ID_HEX_LEN + 1];

	if (!pg_strong_random(secret, sizeof(secret)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for an API token")));

	for (int i = 0; i < UUID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", token_id->data[i]);

	memcpy(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	memcpy(token + TOKEN_ID_OFFSET, hex, TOKEN_ID_HEX_LEN);
	token[TOKEN_SECRET_OFFSET - 1] = '_';
	base64url_encode(secret, sizeof(secret), token + TOKEN_SECRET_OFFSET);
	explicit_bzero(secret, sizeof(secret));
	token[TOKEN_CRC_OFFSET - 1] = '_';
	snprintf(token + TOKEN_CRC_OFFSET, TOKEN_CRC_LEN + 1, "%08x",
			 token_crc(token, TOKEN_CRC_OFFSET - 1));

	sha256(token + TOKEN_SECRET_OFFSET, TOKEN_SECRET_LEN, hash);
	return token;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Split a bearer string into token id and secret; false if it is not one.
 */
static bool
parse_bearer_string(const char *token, size_t len, pg_uuid_t *token_id)
{
	char		crc_text[TOKEN_CRC_LEN + 1];

	if (len != TOKEN_LEN || memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0 ||
		token[TOKEN_SECRET_OFFSET - 1] != '_' || token[TOKEN_CRC_OFFSET - 1] != '_')
		return false;
	for (int i = 0; i < UUID_LEN; i++)
	{
		int			hi = hex_value(token[TOKEN_ID_OFFSET + 2 * i]);
		int			lo = hex_value(token[TOKEN_ID_OFFSET + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		token_id->data[i] = (uint8) (hi << 4 | lo);
	}
	for (int i = 0; i < TOKEN_SECRET_LEN; i++)
		if (strchr(base64url, token[TOKEN_SECRET_OFFSET + i]) == NULL ||
			token[TOKEN_SECRET_OFFSET + i] == '\0')
			return false;
	snprintf(crc_text, sizeof(crc_text), "%08x", token_crc(token, TOKEN_CRC_OFFSET - 1));
	return memcmp(crc_text, token + TOKEN_CRC_OFFSET, TOKEN_CRC_LEN) == 0;
}

/* ---------------------------------------------------------------------
 * Reading tokens (below row-level security)
 * ---------------------------------------------------------------------
 */

typedef struct TokenRow
{
	pg_uuid_t	id;
	pg_uuid_t	account_id;
	bool		has_owner;
	pg_uuid_t	owner_id;
	char	   *name;
	int			n_groups;
	Oid			groups[SS_MAX_TOKEN_GROUPS];
	bool		active;
	bool		has_not_before;
	TimestampTz not_before;
	bool		has_expires_at;
	TimestampTz expires_at;
	bool		has_last_used_at;
	TimestampTz last_used_at;
	ArrayType  *allowed_cidrs;	/* NULL if unrestricted */
} TokenRow;

static void
read_groups(Datum array, TokenRow *row)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(array), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &elems, &nulls, &n);
	row->n_groups = 0;
	for (int i = 0; i < n && row->n_groups < SS_MAX_TOKEN_GROUPS; i++)
		if (!nulls[i])
			row->groups[row->n_groups++] = DatumGetObjectId(elems[i]);
}

static bool
find_token(const pg_uuid_t *token_id, TokenRow *row)
{
	SsKey		key = {"id", F_UUID_EQ, UUIDPGetDatum(token_id)};
	static const char *const columns[] = {
		"account_id", "owner_member_id", "name", "permission_groups", "status",
		"not_before", "expires_at", "last_used_at", "allowed_cidrs"
	};
	Datum		v[9];
	bool		n[9];

	memset(row, 0, sizeof(TokenRow));
	if (!ss_lookup_row(SS_REL_API_TOKENS, "api_tokens_id_idx", &key, 1, columns, v, n, 9))
		return false;

	memcpy(&row->id, token_id, sizeof(pg_uuid_t));
	memcpy(&row->account_id, DatumGetUUIDP(v[0]), sizeof(pg_uuid_t));
	if ((row->has_owner = !n[1]))
		memcpy(&row->owner_id, DatumGetUUIDP(v[1]), sizeof(pg_uuid_t));
	row->name = TextDatumGetCString(v[2]);
	if (!n[3])
		read_groups(v[3], row);
	row->active = !n[4] && strcmp(TextDatumGetCString(v[4]), "active") == 0;
	if ((row->has_not_before = !n[5]))
		row->not_before = DatumGetTimestampTz(v[5]);
	if ((row->has_expires_at = !n[6]))
		row->expires_at = DatumGetTimestampTz(v[6]);
	if ((row->has_last_used_at = !n[7]))
		row->last_used_at = DatumGetTimestampTz(v[7]);
	if (!n[8])
	{
		row->allowed_cidrs = DatumGetArrayTypeP(v[8]);
		if (ArrayGetNItems(ARR_NDIM(row->allowed_cidrs), ARR_DIMS(row->allowed_cidrs)) == 0)
			row->allowed_cidrs = NULL;
	}
	return true;
}

static bool
find_token_hash(const TokenRow *row, uint8 *hash)
{
	SsKey		keys[2] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(&row->account_id)},
		{"token_id", F_UUID_EQ, UUIDPGetDatum(&row->id)},
	};
	static const char *const columns[] = {"hash"};
	Datum		value;
	bool		isnull;
	bytea	   *stored;

	if (!ss_lookup_row(SS_REL_API_TOKEN_SECRETS, "api_token_secrets_pkey", keys, 2,
					   columns, &value, &isnull, 1) || isnull)
		return false;
	stored = DatumGetByteaPP(value);
	if (VARSIZE_ANY_EXHDR(stored) != PG_SHA256_DIGEST_LENGTH)
		return false;
	memcpy(hash, VARDATA_ANY(stored), PG_SHA256_DIGEST_LENGTH);
	return true;
}

/* ---------------------------------------------------------------------
 * authenticate()
 * ---------------------------------------------------------------------
 */

/*
 * Refuse a bearer string: the reason to the server log only, one message for
 * the client, and never the statement text.
 */
static void
pg_attribute_noreturn()
reject_token(const char *reason, const pg_uuid_t *token_id)
{
	ss_audit_refusal(NULL, "authenticate", "28000", reason);
	ereport(LOG_SERVER_ONLY,
			(errmsg("secrets_store: API token rejected: %s%s%s%s",
					reason,
					token_id ? " (token " : "",
					token_id ? ss_uuid_string(token_id) : "",
					token_id ? ")" : ""),
			 errhidestmt(true),
			 errhidecontext(true)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid API token"),
			 errhint("The token may be unknown, disabled, expired, not yet valid or not allowed from this address."),
			 errhidestmt(true),
			 errhidecontext(true)));
}

/*
 * The client's address as an inet, or NULL for a Unix-socket connection.
 * Called through the SQL function inet_client_addr() so that this file need
 * not depend on the server's connection structures.
 */
Datum
ss_client_address(bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	result = inet_client_addr(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

static bool
address_allowed(ArrayType *cidrs)
{
	bool		isnull;
	Datum		address = ss_client_address(&isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (isnull)
		return false;
	deconstruct_array(cidrs, CIDROID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] &&
			DatumGetBool(DirectFunctionCall2(network_supeq, elems[i], address)))
			return true;
	return false;
}

#define LAST_USED_RESOLUTION	(60 * USECS_PER_SEC)

/*
 * Record when a token was last used, at most once a minute per token: the
 * row just read says whether the last record is recent enough, so most
 * authentications write nothing.  The write is skipped on a hot standby and
 * in read-only transactions (so authenticating never makes those fail), and
 * when another transaction is updating the same row (SKIP LOCKED: no waiting
 * behind a busy token).
 */
static void
touch_last_used(const TokenRow *row, TimestampTz now)
{
	Oid			types[2] = {UUIDOID, UUIDOID};
	Datum		values[2] = {UUIDPGetDatum(&row->account_id), UUIDPGetDatum(&row->id)};

	if (RecoveryInProgress() || XactReadOnly)
		return;
	if (row->has_last_used_at && now - row->last_used_at < LAST_USED_RESOLUTION)
		return;
	ss_spi_as_owner(SS_REL_API_TOKENS,
					"UPDATE secrets_store.api_tokens SET last_used_at = pg_catalog.now()"
					" WHERE account_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2"
					" AND id OPERATOR(pg_catalog.=) ANY (ARRAY("
					"  SELECT t.id FROM secrets_store.api_tokens t"
					"  WHERE t.account_id OPERATOR(pg_catalog.=) $1 AND t.id OPERATOR(pg_catalog.=) $2"
					"  AND (t.last_used_at IS NULL OR t.last_used_at OPERATOR(pg_catalog.<)"
					"       (pg_catalog.now() OPERATOR(pg_catalog.-) '1 minute'::pg_catalog.interval))"
					"  FOR UPDATE SKIP LOCKED))",
					2, types, values, NULL);
}

/*
 * authenticate(token text) -> secrets_store.principal
 */
Datum
ss_authenticate(PG_FUNCTION_ARGS)
{
	text	   *bearer;
	pg_uuid_t	token_id;
	TokenRow	row;
	uint8		stored[PG_SHA256_DIGEST_LENGTH];
	uint8		presented[PG_SHA256_DIGEST_LENGTH];
	TimestampTz now = GetCurrentTimestamp();
	Principal	principal;

	/* the statement carries a bearer string: keep it out of log lines */
	ss_note_value_in_statement();
	ss_require_transaction_block("authenticate");

	if (PG_ARGISNULL(0))
		reject_token("null token", NULL);
	bearer = PG_GETARG_TEXT_PP(0);
	if (!parse_bearer_string(VARDATA_ANY(bearer), VARSIZE_ANY_EXHDR(bearer), &token_id))
		reject_token("malformed token string", NULL);
	if (!find_token(&token_id, &row))
		reject_token("unknown token id", &token_id);
	if (!find_token_hash(&row, stored))
		reject_token("token has no secret", &token_id);
	sha256(VARDATA_ANY(bearer) + TOKEN_SECRET_OFFSET, TOKEN_SECRET_LEN, presented);
	if (!constant_time_equal(stored, presented, PG_SHA256_DIGEST_LENGTH))
		reject_token("wrong secret (rolled or forged)", &token_id);
	if (!row.active)
		reject_token("token is disabled", &token_id);
	if (row.has_not_before && now < row.not_before)
		reject_token("token is not yet valid", &token_id);
	if (row.has_expires_at && now >= row.expires_at)
		reject_token("token has expired", &token_id);
	if (row.allowed_cidrs != NULL && !address_allowed(row.allowed_cidrs))
		reject_token("client address not allowed", &token_id);

	memset(&principal, 0, sizeof(principal));
	principal.type = PRINCIPAL_TOKEN;
	principal.has_token = true;
	principal.token_id = row.id;
	principal.token_account_id = row.account_id;
	principal.token_name = row.name;
	principal.n_token_groups = row.n_groups;
	memcpy(principal.token_groups, row.groups, sizeof(row.groups));
	principal.has_token_owner = row.has_owner;
	principal.token_owner_id = row.owner_id;
	ss_set_transaction_principal(&principal);

	touch_last_used(&row, now);

	PG_RETURN_DATUM(ss_principal_tuple(fcinfo));
}

/* ---------------------------------------------------------------------
 * Issuing tokens
 * ---------------------------------------------------------------------
 */

static void
store_token_hash(const pg_uuid_t *account_id, const pg_uuid_t *token_id,
				 const uint8 *hash, bool replace)
{
	Oid			types[3] = {UUIDOID, UUIDOID, BYTEAOID};
	bytea	   *hash_value = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Datum		values[3];

	SET_VARSIZE(hash_value, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash_value), hash, PG_SHA256_DIGEST_LENGTH);
	values[0] = UUIDPGetDatum(account_id);
	values[1] = UUIDPGetDatum(token_id);
	values[2] = PointerGetDatum(hash_value);
	if (ss_spi_as_owner(SS_REL_API_TOKEN_SECRETS,
						replace ?
						"UPDATE secrets_store.api_token_secrets SET hash = $3"
						" WHERE account_id OPERATOR(pg_catalog.=) $1"
						" AND token_id OPERATOR(pg_catalog.=) $2" :
						"INSERT INTO secrets_store.api_token_secrets (account_id, token_id, hash) "
						"VALUES ($1, $2, $3)",
						3, types, values, NULL) != 1)
		elog(ERROR, "could not store the hash of API token %s", ss_uuid_string(token_id));
}

static bool
is_person(const Principal *principal)
{
	return principal->type == PRINCIPAL_DATABASE_ROLE ||
		principal->type == PRINCIPAL_MEMBER;
}

static void
refuse_token_principal(const Principal *principal, const char *what)
{
	if (principal->type == PRINCIPAL_TOKEN)
	{
		ss_audit_refusal(NULL, "token.manage", "42501", "API tokens may not manage API tokens");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: %s may not %s",
						ss_describe_principal(principal), what),
				 errhint("API tokens are managed by members: their own tokens, or every token of the account for a Super Administrator.")));
	}
}

static void
check_token_name(text *name)
{
	char	   *s = text_to_cstring(name);
	int			len = pg_mbstrlen(s);

	for (char *p = s; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			len = 0;
	if (len < 1 || len > 255)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid API token name"),
				 errhint("A token name is 1 to 255 printable characters.")));
}

/*
 * create_api_token(account_id, name, permission_groups, expires_at, not_before,
 *					allowed_cidrs, account_owned) -> text
 */
Datum
ss_create_api_token(PG_FUNCTION_ARGS)
{
	const Principal *principal = ss_current_principal();
	pg_uuid_t  *account_id;
	bool		account_owned = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);
	bool		administrator = ss_is_database_administrator();
	ArrayType  *groups;
	Datum	   *group_elems;
	bool	   *group_nulls;
	int			n_groups;
	int			outside;
	ActionMask	missing;
	pg_uuid_t	token_id;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	char	   *bearer;
	text	   *result;
	Oid			types[8];
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account_id, name and permission_groups are required")));
	account_id = PG_GETARG_UUID_P(0);

	/* the account must be one of the principal's, else it does not exist */
	if (!administrator && ss_actions_in_account(account_id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %s not found", ss_uuid_string(account_id))));
	refuse_token_principal(principal, "create API tokens");

	if (account_owned)
		ss_require_action(account_id, ss_action_index("token.manage"));
	else if (!is_person(principal))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a token must belong to a member or to the account"),
				 errhint("Database administrators create account-owned tokens (account_owned => true).")));

	check_token_name(PG_GETARG_TEXT_PP(1));

	groups = PG_GETARG_ARRAYTYPE_P(2);
	deconstruct_array(groups, ARR_ELEMTYPE(groups), sizeof(Oid), true, TYPALIGN_INT,
					  &group_elems, &group_nulls, &n_groups);
	if (n_groups == 0 || n_groups > SS_MAX_TOKEN_GROUPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a token needs between 1 and %d permission groups", SS_MAX_TOKEN_GROUPS),
				 errhint("Permission groups: secrets_store_edit, secrets_store_read, workers_scripts_edit, ai_gateway_edit.")));
	for (int i = 0; i < n_groups; i++)
		if (group_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("permission groups must not contain NULL")));

	/* no token can do more than its creator */
	if (!administrator)
	{
		Oid			group_oids[SS_MAX_TOKEN_GROUPS];

		for (int i = 0; i < n_groups; i++)
			group_oids[i] = DatumGetObjectId(group_elems[i]);
		outside = ss_token_group_outside(account_id, group_oids, n_groups, &missing);
		if (outside >= 0)
		{
			StringInfoData actions;

			ss_audit_refusal(account_id, "token.create", "42501",
							 "permission groups exceed the creator's actions");

			initStringInfo(&actions);
			for (int a = 0; a < SS_NUM_ACTIONS; a++)
				if (missing & ((ActionMask) 1 << a))
					appendStringInfo(&actions, "%s%s", actions.len ? ", " : "", ss_action_names[a]);
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied: %s may not create a token with permission group \"%s\"",
							ss_describe_principal(principal),
							DatumGetCString(DirectFunctionCall1(enum_out, group_elems[outside]))),
					 errdetail("The group grants %s, which the principal does not hold in account %s.",
							   actions.data, ss_uuid_string(account_id)),
					 errhint("A token's permission groups must fit inside its creator's own actions.")));
		}
	}

	if (!PG_ARGISNULL(3) && !PG_ARGISNULL(4) &&
		PG_GETARG_TIMESTAMPTZ(3) <= PG_GETARG_TIMESTAMPTZ(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at must be later than not_before")));
	if (!PG_ARGISNULL(5))
	{
		ArrayType  *cidrs = PG_GETARG_ARRAYTYPE_P(5);

		if (array_contains_nulls(cidrs))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("allowed_cidrs must not contain NULL"),
					 errhint("Use NULL instead of the array to allow every address.")));
	}

	if (!pg_strong_random(token_id.data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for an API token")));
	token_id.data[6] = (token_id.data[6] & 0x0f) | 0x40;	/* version 4 */
	token_id.data[8] = (token_id.data[8] & 0x3f) | 0x80;	/* RFC 4122 variant */

	/* metadata row, written past row-level security after the checks above */
	types[0] = types[1] = types[2] = UUIDOID;
	types[3] = TEXTOID;
	types[4] = get_array_type(ARR_ELEMTYPE(groups));
	types[5] = types[6] = TIMESTAMPTZOID;
	types[7] = get_array_type(CIDROID);
	values[0] = UUIDPGetDatum(&token_id);
	values[1] = UUIDPGetDatum(account_id);
	if (!account_owned && principal->has_member)
		values[2] = UUIDPGetDatum(&principal->member_id);
	else
		nulls[2] = 'n';
	values[3] = PG_GETARG_DATUM(1);
	values[4] = PointerGetDatum(groups);
	values[5] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[5] = PG_ARGISNULL(3) ? 'n' : ' ';
	values[6] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[6] = PG_ARGISNULL(4) ? 'n' : ' ';
	values[7] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	nulls[7] = PG_ARGISNULL(5) ? 'n' : ' ';
	ss_spi_as_owner(SS_REL_API_TOKENS,
					"INSERT INTO secrets_store.api_tokens (id, account_id, owner_member_id, name,"
					" permission_groups, not_before, expires_at, allowed_cidrs)"
					" VALUES ($1, $2, $3, $4, $5, $7, $6, $8)",
					8, types, values, nulls);

	bearer = new_bearer_string(&token_id, hash);
	store_token_hash(account_id, &token_id, hash, false);
	explicit_bzero(hash, sizeof(hash));

	result = cstring_to_text(bearer);
	explicit_bzero(bearer, TOKEN_LEN);
	PG_RETURN_TEXT_P(result);
}

/*
 * roll_api_token(token_id) -> text: a new bearer string; the old one stops
 * working when this transaction commits.
 */
Datum
ss_roll_api_token(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *token_id = PG_GETARG_UUID_P(0);
	const Principal *principal = ss_current_principal();
	TokenRow	row;
	bool		allowed = false;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	char	   *bearer;
	text	   *result;

	if (find_token(token_id, &row))
	{
		if (ss_is_database_administrator())
			allowed = true;
		else if (is_person(principal) && row.has_owner &&
				 memcmp(&row.owner_id, &principal->member_id, UUID_LEN) == 0 &&
				 ss_actions_in_account(&row.account_id) != 0)
			allowed = true;
		else if (ss_actions_in_account(&row.account_id) &
				 ((ActionMask) 1 << ss_action_index("token.manage")))
			allowed = true;
	}
	/* a token the principal may not manage is one it cannot see */
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("API token %s not found", ss_uuid_string(token_id))));
	refuse_token_principal(principal, "roll API tokens");

	bearer = new_bearer_string(token_id, hash);
	store_token_hash(&row.account_id, token_id, hash, true);
	explicit_bzero(hash, sizeof(hash));
	ss_audit_event(&row.account_id, "update", "api_token", token_id, row.name,
				   "{\"rolled\": true}", false);

	result = cstring_to_text(bearer);
	explicit_bzero(bearer, TOKEN_LEN);
	PG_RETURN_TEXT_P(result);
}
