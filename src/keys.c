/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  The master key and the per-account data keys (envelope encryption).
 *
 * The master key lives outside the database: in a file, or printed by a
 * command, named by superuser-only settings
 *
 *		secrets_store.master_key_file / secrets_store.master_key_command
 *
 * and, while rotating, the key being retired:
 *
 *		secrets_store.previous_master_key_file / ..._command
 *
 * A key is 32 bytes written as 64 hexadecimal digits.  A key file must be a
 * regular file without group or world permissions.  Keys are identified by
 * the first 8 bytes of their SHA-256 (16 hex digits), which is stored next to
 * what they wrap.
 *
 * Each account has one random 256-bit data key, stored only wrapped (sealed
 * with AES-256-GCM under the master key, associated data naming the account)
 * in secrets_store.account_keys, a table no role but its owner can read.
 * Secret values are sealed under the data key.  Rotating the master key
 * rewraps the data keys and touches no secret; deleting an account deletes
 * its data key, after which its values cannot be opened even from an old
 * copy of their rows.
 *
 * No SQL function returns a key.  Keys are held in secure buffers (seal.c)
 * and the loaded master keys in backend memory that is zeroed when a setting
 * changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_rewrap_data_keys);
PG_FUNCTION_INFO_V1(ss_master_key_id);

#define DATA_KEY_AAD_PREFIX	"secrets_store data key v1:"

char	   *ss_master_key_file = NULL;
char	   *ss_master_key_command = NULL;
char	   *ss_previous_master_key_file = NULL;
char	   *ss_previous_master_key_command = NULL;

typedef struct MasterKey
{
	bool		loaded;
	uint8		key[SS_KEY_LEN];
	char		id[SS_KEY_ID_LEN + 1];
} MasterKey;

/* 0: current, 1: previous; forgotten (zeroed) whenever a setting changes */
static MasterKey master_keys[2];

void
ss_forget_master_keys(void)
{
	explicit_bzero(master_keys, sizeof(master_keys));
}

static void
master_key_setting_changed(const char *newval, void *extra)
{
	ss_forget_master_keys();
}

void
ss_define_key_settings(void)
{
	DefineCustomStringVariable("secrets_store.master_key_file",
							   "File holding the master key (64 hex digits).",
							   "Must not be readable by group or others.",
							   &ss_master_key_file, NULL, PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, master_key_setting_changed, NULL);
	DefineCustomStringVariable("secrets_store.master_key_command",
							   "Command that prints the master key (64 hex digits).",
							   "Used when master_key_file is not set.",
							   &ss_master_key_command, NULL, PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, master_key_setting_changed, NULL);
	DefineCustomStringVariable("secrets_store.previous_master_key_file",
							   "File holding the master key being retired, during rotation.",
							   NULL,
							   &ss_previous_master_key_file, NULL, PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, master_key_setting_changed, NULL);
	DefineCustomStringVariable("secrets_store.previous_master_key_command",
							   "Command that prints the master key being retired, during rotation.",
							   NULL,
							   &ss_previous_master_key_command, NULL, PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, master_key_setting_changed, NULL);
}

static void
pg_attribute_noreturn()
key_error(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("An administrator sets secrets_store.master_key_file (or master_key_command) in postgresql.conf; see the README, \"Keys\"."),
			 errhidestmt(true)));
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits, optionally surrounded by white space */
static bool
parse_key_text(const char *text, int length, uint8 *key)
{
	int			start = 0;
	int			end = length;

	while (start < end && isspace((unsigned char) text[start]))
		start++;
	while (end > start && isspace((unsigned char) text[end - 1]))
		end--;
	if (end - start != 2 * SS_KEY_LEN)
		return false;
	for (int i = 0; i < SS_KEY_LEN; i++)
	{
		int			hi = hex_digit(text[start + 2 * i]);
		int			lo = hex_digit(text[start + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8) (hi << 4 | lo);
	}
	return true;
}

static void
key_id(const uint8 *key, char *id)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, key, SS_KEY_LEN) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	for (int i = 0; i < SS_KEY_ID_LEN / 2; i++)
		snprintf(id + 2 * i, 3, "%02x", digest[i]);
}

/*
 * Read a key from a file or a command into key.  Returns false if neither is
 * set; raises an error if the one that is set does not give a valid key.
 */
static bool
read_master_key(const char *file, const char *command, uint8 *key)
{
	char	   *text = ss_secure_alloc(256);
	int			length = 0;

	if (file != NULL && file[0] != '\0')
	{
		struct stat st;
		int			fd = OpenTransientFile(file, O_RDONLY | PG_BINARY);

		if (fd < 0)
			key_error("could not open the master key file", NULL);
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		{
			CloseTransientFile(fd);
			key_error("the master key file is not a regular file", NULL);
		}
		if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		{
			CloseTransientFile(fd);
			key_error("the master key file has group or world permissions",
					  "Allow only its owner to read it (chmod 600 or 400).");
		}
		length = read(fd, text, 255);
		CloseTransientFile(fd);
	}
	else if (command != NULL && command[0] != '\0')
	{
		FILE	   *pipe = OpenPipeStream(command, "r");

		if (pipe == NULL)
			key_error("could not run the master key command", NULL);
		length = fread(text, 1, 255, pipe);
		if (ClosePipeStream(pipe) != 0)
			key_error("the master key command failed", NULL);
	}
	else
		return false;

	if (length <= 0 || !parse_key_text(text, length, key))
		key_error("the master key is not 64 hexadecimal digits", NULL);
	ss_secure_free(text, 256);
	return true;
}

/*
 * The current (which = 0) or previous (1) master key, or NULL if none is
 * configured.
 */
static MasterKey *
master_key(int which)
{
	MasterKey  *mk = &master_keys[which];

	if (!mk->loaded)
	{
		uint8	   *key = ss_secure_alloc(SS_KEY_LEN);
		bool		found;

		found = which == 0 ?
			read_master_key(ss_master_key_file, ss_master_key_command, key) :
			read_master_key(ss_previous_master_key_file, ss_previous_master_key_command, key);
		if (!found)
			return NULL;
		memcpy(mk->key, key, SS_KEY_LEN);
		ss_secure_free(key, SS_KEY_LEN);
		key_id(mk->key, mk->id);
		mk->loaded = true;
	}
	return mk;
}

static MasterKey *
require_current_master_key(void)
{
	MasterKey  *mk = master_key(0);

	if (mk == NULL)
		key_error("no master key is configured", "Secret values cannot be sealed or opened without it; metadata keeps working.");
	return mk;
}

static int
data_key_aad(const pg_uuid_t *account_id, uint8 *aad)
{
	int			prefix = strlen(DATA_KEY_AAD_PREFIX);

	memcpy(aad, DATA_KEY_AAD_PREFIX, prefix);
	memcpy(aad + prefix, account_id->data, UUID_LEN);
	return prefix + UUID_LEN;
}

/* ---------------------------------------------------------------------
 * Data keys
 * ---------------------------------------------------------------------
 */

typedef struct WrappedKey
{
	char		master_key_id[SS_KEY_ID_LEN + 1];
	bytea	   *wrapped;
} WrappedKey;

static bool
find_wrapped_key(const pg_uuid_t *account_id, WrappedKey *out)
{
	SsKey		key = {"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)};
	static const char *const columns[] = {"master_key_id", "wrapped_key"};
	Datum		values[2];
	bool		nulls[2];

	if (!ss_lookup_row(SS_REL_ACCOUNT_KEYS, "account_keys_pkey", &key, 1,
					   columns, values, nulls, 2) || nulls[0] || nulls[1])
		return false;
	strlcpy(out->master_key_id, TextDatumGetCString(values[0]), sizeof(out->master_key_id));
	out->wrapped = DatumGetByteaPP(values[1]);
	return true;
}

/* the configured master key with this id, or an error saying what is wrong */
static MasterKey *
master_key_with_id(const char *id, const pg_uuid_t *account_id)
{
	MasterKey  *current = require_current_master_key();
	MasterKey  *previous;

	if (strcmp(current->id, id) == 0)
		return current;
	previous = master_key(1);
	if (previous != NULL && strcmp(previous->id, id) == 0)
		return previous;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the data key of account %s is wrapped under master key %s, which is not configured",
					ss_uuid_string(account_id), id),
			 errdetail("The configured master key is %s.", current->id),
			 errhint("Configure that key as secrets_store.master_key_file, or as previous_master_key_file while rotating; nothing has been changed."),
			 errhidestmt(true)));
	return NULL;				/* keep compiler quiet */
}

static uint8 *
unwrap_data_key(const pg_uuid_t *account_id, const WrappedKey *wk)
{
	MasterKey  *mk = master_key_with_id(wk->master_key_id, account_id);
	uint8		aad[64];
	int			aad_length = data_key_aad(account_id, aad);
	int			length;
	uint8	   *key = ss_aead_open(mk->key, wk->wrapped, aad, aad_length, &length);

	if (key == NULL || length != SS_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the data key of account %s does not open under master key %s",
						ss_uuid_string(account_id), mk->id),
				 errdetail("The wrapped key has been altered or belongs to another account."),
				 errhidestmt(true)));
	return key;
}

static bytea *
wrap_data_key(const pg_uuid_t *account_id, const uint8 *key, MasterKey *mk)
{
	uint8		aad[64];
	int			aad_length = data_key_aad(account_id, aad);

	return ss_aead_seal(mk->key, key, SS_KEY_LEN, aad, aad_length);
}

/*
 * The data key of an account, in a secure buffer.  With create, an account
 * that has none gets one; an account that has one never gets another (so a
 * wrong master key can never orphan existing values).
 */
uint8 *
ss_data_key(const pg_uuid_t *account_id, bool create)
{
	WrappedKey	wk;

	if (find_wrapped_key(account_id, &wk))
		return unwrap_data_key(account_id, &wk);
	if (!create)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("secret not found"),
				 errdetail("Account %s has no data key: no value was ever sealed for it.",
						   ss_uuid_string(account_id))));

	{
		MasterKey  *mk = require_current_master_key();
		uint8	   *key = ss_secure_alloc(SS_KEY_LEN);
		bytea	   *wrapped;
		Oid			types[3] = {UUIDOID, TEXTOID, BYTEAOID};
		Datum		values[3];

		if (!pg_strong_random(key, SS_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a data key")));
		wrapped = wrap_data_key(account_id, key, mk);
		values[0] = UUIDPGetDatum(account_id);
		values[1] = CStringGetTextDatum(mk->id);
		values[2] = PointerGetDatum(wrapped);
		/* a concurrent first write may win the race: then use its key */
		if (ss_spi_as_owner(SS_REL_ACCOUNT_KEYS,
							"INSERT INTO secrets_store.account_keys (account_id, master_key_id, wrapped_key)"
							" VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING",
							3, types, values, NULL) == 1)
			return key;
		ss_secure_free(key, SS_KEY_LEN);
		CommandCounterIncrement();
		if (!find_wrapped_key(account_id, &wk))
			elog(ERROR, "data key of account %s vanished", ss_uuid_string(account_id));
		return unwrap_data_key(account_id, &wk);
	}
}

/*
 * rewrap_data_keys() -> integer
 *
 * Rewrap every account's data key that is not yet under the current master
 * key (opening it with the previous one).  Secret rows are not touched.
 * Superuser only.
 */
Datum
ss_rewrap_data_keys(PG_FUNCTION_ARGS)
{
	MasterKey  *current;
	int			nestlevel;
	int			rewrapped = 0;
	uint64		n;
	SPITupleTable *table;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only a superuser may rewrap data keys")));
	current = require_current_master_key();

	/* the caller is a superuser: keep its functions and operators out */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT account_id, master_key_id FROM secrets_store.account_keys"
					" ORDER BY account_id FOR UPDATE",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read account keys");
	n = SPI_processed;
	table = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		pg_uuid_t  *account = DatumGetUUIDP(SPI_getbinval(table->vals[i], table->tupdesc, 1, &isnull));
		char	   *id = TextDatumGetCString(SPI_getbinval(table->vals[i], table->tupdesc, 2, &isnull));
		WrappedKey	wk;
		uint8	   *key;
		Oid			types[3] = {UUIDOID, TEXTOID, BYTEAOID};
		Datum		values[3];

		if (strcmp(id, current->id) == 0)
			continue;
		if (!find_wrapped_key(account, &wk))
			continue;
		key = unwrap_data_key(account, &wk);
		values[0] = UUIDPGetDatum(account);
		values[1] = CStringGetTextDatum(current->id);
		values[2] = PointerGetDatum(wrap_data_key(account, key, current));
		ss_secure_free(key, SS_KEY_LEN);
		if (SPI_execute_with_args("UPDATE secrets_store.account_keys"
								  " SET master_key_id = $2, wrapped_key = $3, rewrapped_at = pg_catalog.now()"
								  " WHERE account_id OPERATOR(pg_catalog.=) $1",
								  3, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not rewrap the data key of account %s", ss_uuid_string(account));
		rewrapped++;
	}
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	PG_RETURN_INT32(rewrapped);
}

/*
 * master_key_id() -> text: the id (not the key) of the configured master
 * key, or NULL.  Superuser only; lets an administrator check which key a
 * server uses.
 */
Datum
ss_master_key_id(PG_FUNCTION_ARGS)
{
	MasterKey  *mk;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only a superuser may inspect the master key configuration")));
	mk = master_key(PG_ARGISNULL(0) || !PG_GETARG_BOOL(0) ? 0 : 1);
	if (mk == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(mk->id));
}
