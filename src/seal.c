/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  AES-256-GCM, buffers that are zeroed when released, and the
 *	  write-only type of secrets.value.
 *
 * A plaintext value must never reach a heap page, the WAL, a log line or an
 * error.  The column secrets.value has the type secrets_store.secret_value,
 * whose input function (and the casts from text and varchar) seal the
 * plaintext at once, before the executor forms any tuple: with a key that
 * exists only in this backend's memory ("transit" sealing).  The write
 * trigger (values.c) then opens it, checks its length, seals it for good
 * under the account's data key with associated data naming the account and
 * the secret, stores that elsewhere, and leaves the column NULL.  A transit
 * blob that reached a table by other means is useless outside the backend
 * that made it.  The type's output never shows anything but "(sealed)".
 *
 * Every buffer that holds a plaintext or a key is allocated with
 * ss_secure_alloc(), which registers a memory-context reset callback that
 * zeroes it, so it is wiped on every path, including errors.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_secret_value_in);
PG_FUNCTION_INFO_V1(ss_secret_value_out);
PG_FUNCTION_INFO_V1(ss_secret_value_from_text);

#define TRANSIT_MAGIC		"SSV1"
#define TRANSIT_MAGIC_LEN	4

static uint8 *transit_key = NULL;	/* this backend's transit key */

/* ---------------------------------------------------------------------
 * Buffers that are zeroed when their memory context goes away
 * ---------------------------------------------------------------------
 */

typedef struct SecureBuffer
{
	MemoryContextCallback callback;
	void	   *data;
	Size		size;
} SecureBuffer;

static void
zero_secure_buffer(void *arg)
{
	SecureBuffer *buffer = (SecureBuffer *) arg;

	explicit_bzero(buffer->data, buffer->size);
}

/*
 * Memory for a plaintext or a key, in the current memory context, zeroed
 * when that context is reset or deleted (also on error).  Callers should
 * still ss_secure_free() it as soon as they are done.
 */
void *
ss_secure_alloc(Size size)
{
	SecureBuffer *buffer = palloc(sizeof(SecureBuffer));

	buffer->data = palloc0(Max(size, 1));
	buffer->size = Max(size, 1);
	buffer->callback.func = zero_secure_buffer;
	buffer->callback.arg = buffer;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &buffer->callback);
	return buffer->data;
}

void
ss_secure_free(void *data, Size size)
{
	/* zero now; the callback zeroes again harmlessly when the context goes */
	explicit_bzero(data, Max(size, 1));
}

/* ---------------------------------------------------------------------
 * AES-256-GCM
 * ---------------------------------------------------------------------
 */

static void
crypto_failure(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not %s with AES-256-GCM", what),
			 errhidestmt(true)));
}

/*
 * Seal plaintext: output is nonce (12) || ciphertext || tag (16).
 */
bytea *
ss_aead_seal(const uint8 *key, const uint8 *plaintext, int length,
			 const uint8 *aad, int aad_length)
{
	bytea	   *sealed = palloc(VARHDRSZ + SS_NONCE_LEN + length + SS_TAG_LEN);
	uint8	   *nonce = (uint8 *) VARDATA(sealed);
	uint8	   *ciphertext = nonce + SS_NONCE_LEN;
	uint8	   *tag = ciphertext + length;
	EVP_CIPHER_CTX *ctx;
	int			out;
	bool		ok;

	SET_VARSIZE(sealed, VARHDRSZ + SS_NONCE_LEN + length + SS_TAG_LEN);
	if (!pg_strong_random(nonce, SS_NONCE_LEN))
		crypto_failure("draw a nonce");

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		crypto_failure("allocate a cipher context");
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SS_NONCE_LEN, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
		(aad_length == 0 || EVP_EncryptUpdate(ctx, NULL, &out, aad, aad_length) == 1) &&
		(length == 0 || EVP_EncryptUpdate(ctx, ciphertext, &out, plaintext, length) == 1) &&
		EVP_EncryptFinal_ex(ctx, ciphertext + length, &out) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SS_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		crypto_failure("seal");
	return sealed;
}

/*
 * Open a sealed value into a secure buffer.  Returns NULL if it does not
 * authenticate (wrong key, wrong associated data, tampered).
 */
uint8 *
ss_aead_open(const uint8 *key, const bytea *sealed, const uint8 *aad,
			 int aad_length, int *length)
{
	int			total = VARSIZE_ANY_EXHDR(sealed);
	const uint8 *nonce = (const uint8 *) VARDATA_ANY(sealed);
	const uint8 *ciphertext = nonce + SS_NONCE_LEN;
	int			n = total - SS_NONCE_LEN - SS_TAG_LEN;
	uint8		tag[SS_TAG_LEN];
	uint8	   *plaintext;
	EVP_CIPHER_CTX *ctx;
	int			out;
	bool		ok;

	if (n < 0)
		return NULL;
	memcpy(tag, ciphertext + n, SS_TAG_LEN);
	plaintext = ss_secure_alloc(n + 1);

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		crypto_failure("allocate a cipher context");
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SS_NONCE_LEN, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
		(aad_length == 0 || EVP_DecryptUpdate(ctx, NULL, &out, aad, aad_length) == 1) &&
		(n == 0 || EVP_DecryptUpdate(ctx, plaintext, &out, ciphertext, n) == 1) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SS_TAG_LEN, tag) == 1 &&
		EVP_DecryptFinal_ex(ctx, plaintext + n, &out) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
	{
		ss_secure_free(plaintext, n + 1);
		return NULL;
	}
	*length = n;
	return plaintext;
}

/* ---------------------------------------------------------------------
 * Transit sealing: the secret_value type
 * ---------------------------------------------------------------------
 */

static const uint8 *
get_transit_key(void)
{
	if (transit_key == NULL)
	{
		uint8	   *key = MemoryContextAllocZero(TopMemoryContext, SS_KEY_LEN);

		if (!pg_strong_random(key, SS_KEY_LEN))
			crypto_failure("draw a transit key");
		transit_key = key;
	}
	return transit_key;
}

/*
 * Transit blob: magic (4) [|| account id (16) || source secret id (16)] ||
 * nonce || ciphertext || tag.  "SSV1" blobs come from plaintext written by
 * the client; "SSVA" blobs are copies made inside C (duplicate_secret), bound
 * to the account they were copied in, so they cannot carry a value into
 * another account, and naming the secret they were copied from, for the
 * audit trail.  The header is authenticated as associated data.
 */
#define TRANSIT_BOUND_MAGIC	"SSVA"

#define TRANSIT_BOUND_HEADER	(TRANSIT_MAGIC_LEN + 2 * UUID_LEN)

static Datum
transit_seal(const uint8 *plaintext, int length, const pg_uuid_t *account_id,
			 const pg_uuid_t *source_id)
{
	uint8		aad[TRANSIT_BOUND_HEADER];
	int			aad_length = TRANSIT_MAGIC_LEN;
	bytea	   *inner;
	bytea	   *result;

	memcpy(aad, account_id ? TRANSIT_BOUND_MAGIC : TRANSIT_MAGIC, TRANSIT_MAGIC_LEN);
	if (account_id)
	{
		memcpy(aad + TRANSIT_MAGIC_LEN, account_id->data, UUID_LEN);
		memcpy(aad + TRANSIT_MAGIC_LEN + UUID_LEN, source_id->data, UUID_LEN);
		aad_length = TRANSIT_BOUND_HEADER;
	}
	else
		ss_note_value_in_statement();

	inner = ss_aead_seal(get_transit_key(), plaintext, length, aad, aad_length);
	result = palloc(VARSIZE(inner) + aad_length);
	SET_VARSIZE(result, VARSIZE(inner) + aad_length);
	memcpy(VARDATA(result), aad, aad_length);
	memcpy(VARDATA(result) + aad_length, VARDATA(inner), VARSIZE_ANY_EXHDR(inner));
	pfree(inner);
	return PointerGetDatum(result);
}

Datum
ss_transit_seal_copy(const uint8 *plaintext, int length, const pg_uuid_t *account_id,
					 const pg_uuid_t *source_id)
{
	return transit_seal(plaintext, length, account_id, source_id);
}

/*
 * Open a transit-sealed value of this backend into a secure buffer.  A copy
 * bound to an account opens only for that account.
 */
uint8 *
ss_transit_open(Datum value, const pg_uuid_t *account_id, pg_uuid_t *copied_from,
				bool *is_copy, int *length)
{
	bytea	   *blob = DatumGetByteaPP(value);
	int			total = VARSIZE_ANY_EXHDR(blob);
	const uint8 *data = (const uint8 *) VARDATA_ANY(blob);
	int			header = -1;
	uint8	   *plaintext = NULL;

	if (total >= TRANSIT_MAGIC_LEN && memcmp(data, TRANSIT_MAGIC, TRANSIT_MAGIC_LEN) == 0)
		header = TRANSIT_MAGIC_LEN;
	else if (total >= TRANSIT_BOUND_HEADER &&
			 memcmp(data, TRANSIT_BOUND_MAGIC, TRANSIT_MAGIC_LEN) == 0 &&
			 memcmp(data + TRANSIT_MAGIC_LEN, account_id->data, UUID_LEN) == 0)
		header = TRANSIT_BOUND_HEADER;
	*is_copy = (header == TRANSIT_BOUND_HEADER);
	if (*is_copy)
		memcpy(copied_from->data, data + TRANSIT_MAGIC_LEN + UUID_LEN, UUID_LEN);

	if (header > 0)
	{
		bytea	   *inner = palloc(VARHDRSZ + total - header);

		SET_VARSIZE(inner, VARHDRSZ + total - header);
		memcpy(VARDATA(inner), data + header, total - header);
		plaintext = ss_aead_open(get_transit_key(), inner, data, header, length);
		pfree(inner);
	}
	if (plaintext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("this secret value cannot be used here"),
				 errdetail("A secrets_store.secret_value is sealed for the session that wrote it, and a duplicated value for its own account."),
				 errhint("Write the plaintext value in the INSERT or UPDATE itself."),
				 errhidestmt(true)));
	return plaintext;
}

/*
 * secret_value_in(cstring): seal at once.  The plaintext stays only in the
 * caller's input buffer.
 */
Datum
ss_secret_value_in(PG_FUNCTION_ARGS)
{
	char	   *plaintext = PG_GETARG_CSTRING(0);

	PG_RETURN_DATUM(transit_seal((const uint8 *) plaintext, strlen(plaintext), NULL, NULL));
}

/* secret_value_out: never reveals anything */
Datum
ss_secret_value_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(pstrdup("(sealed)"));
}

/* secret_value(text): the cast from text and varchar */
Datum
ss_secret_value_from_text(PG_FUNCTION_ARGS)
{
	text	   *plaintext = PG_GETARG_TEXT_PP(0);

	PG_RETURN_DATUM(transit_seal((const uint8 *) VARDATA_ANY(plaintext),
								 VARSIZE_ANY_EXHDR(plaintext), NULL, NULL));
}
