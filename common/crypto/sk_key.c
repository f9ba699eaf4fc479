/* sk_key: Ed25519 key files, signing and pinned key sets, on libsodium.
 * Secret key bytes only ever live in sodium_malloc'ed memory (guarded,
 * locked, wiped on free), including while the key file is being parsed. */
#include "sk_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sk_util.h"

#define PUB_PREFIX "skein-ed25519-public "
#define SEC_PREFIX "skein-ed25519-secret "
/* Base64 (original variant, padded) of 32 and 64 bytes. */
#define PUB_B64_LEN 44
#define SEC_B64_LEN 88
/* Longest key file we read: a public key with a generous comment. */
#define KEY_FILE_MAX 4096

struct sk_seckey {
	uint8_t *sk; /* SK_SECKEY_LEN bytes of sodium_malloc'ed memory */
	sk_pubkey pub;
};

int
sk_crypto_init(sk_err *err)
{
	/* sodium_init is itself idempotent and thread-safe. */
	if (sodium_init() < 0)
		return sk_err_set(err, SK_ECRYPTO, "initialise libsodium: failed");
	return SK_OK;
}

void
sk_pubkey_set(sk_pubkey *out, const uint8_t pk[SK_PUBKEY_LEN], const char *name)
{
	uint8_t h[crypto_generichash_BYTES];

	memcpy(out->pk, pk, SK_PUBKEY_LEN);
	crypto_generichash(h, sizeof(h), pk, SK_PUBKEY_LEN, NULL, 0);
	memcpy(out->id, h, SK_KEY_ID_LEN);
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
}

void
sk_key_id_hex(const uint8_t id[SK_KEY_ID_LEN], char out[2 * SK_KEY_ID_LEN + 1])
{
	sk_hex(id, SK_KEY_ID_LEN, out);
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create path exclusively with mode and write data to it, durably. On
 * failure a file we created is removed again. */
static int
write_new_file(const char *path, const char *data, size_t len, int mode,
    const char *what, sk_err *err)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		if (errno == EEXIST) {
			sk_err_errno(err, SK_EIO, errno, "write %s %s", what, path);
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "skein never overwrites a key; choose another "
				    "name or remove the old files first");
			return SK_EIO;
		}
		return sk_err_errno(err, SK_EIO, errno, "write %s %s", what, path);
	}
	/* The umask may only have narrowed mode; make it exact. */
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return sk_err_errno(err, SK_EIO, e, "write %s %s", what, path);
	}
	if (close(fd) != 0) {
		int e = errno;

		unlink(path);
		return sk_err_errno(err, SK_EIO, e, "write %s %s", what, path);
	}
	return SK_OK;
}

int
sk_key_generate(const char *out_base, sk_err *err)
{
	uint8_t pk[SK_PUBKEY_LEN];
	uint8_t *sk = NULL;
	char *sec_line = NULL;
	char *key_path = NULL, *pub_path = NULL;
	char pub_line[sizeof(PUB_PREFIX) + PUB_B64_LEN + 256];
	const char *comment;
	size_t blen = strlen(out_base);
	size_t sec_cap = sizeof(SEC_PREFIX) + SEC_B64_LEN + 2;
	int rc;

	key_path = malloc(blen + 5);
	pub_path = malloc(blen + 5);
	sk = sodium_malloc(SK_SECKEY_LEN);
	sec_line = sodium_malloc(sec_cap);
	if (key_path == NULL || pub_path == NULL || sk == NULL || sec_line == NULL) {
		rc = sk_err_set(
		    err, SK_ENOMEM, "generate key %s: out of memory", out_base);
		goto out;
	}
	snprintf(key_path, blen + 5, "%s.key", out_base);
	snprintf(pub_path, blen + 5, "%s.pub", out_base);
	crypto_sign_keypair(pk, sk);

	memcpy(sec_line, SEC_PREFIX, sizeof(SEC_PREFIX) - 1);
	sodium_bin2base64(sec_line + sizeof(SEC_PREFIX) - 1,
	    sec_cap - (sizeof(SEC_PREFIX) - 1), sk, SK_SECKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	strcat(sec_line, "\n");

	/* The comment names the key for humans reading the .pub file. */
	comment = strrchr(out_base, '/');
	comment = comment ? comment + 1 : out_base;
	memcpy(pub_line, PUB_PREFIX, sizeof(PUB_PREFIX) - 1);
	sodium_bin2base64(pub_line + sizeof(PUB_PREFIX) - 1, PUB_B64_LEN + 1,
	    pk, SK_PUBKEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	snprintf(pub_line + sizeof(PUB_PREFIX) - 1 + PUB_B64_LEN,
	    sizeof(pub_line) - (sizeof(PUB_PREFIX) - 1 + PUB_B64_LEN),
	    "%s%.200s\n", sk_name_valid(comment) ? " " : "",
	    sk_name_valid(comment) ? comment : "");

	/* Secret first, exclusively: if it exists nothing else is touched. If
	 * the public half then cannot be written, the pair is incomplete and
	 * the secret we just created goes again. */
	rc = write_new_file(
	    key_path, sec_line, strlen(sec_line), 0600, "secret key", err);
	if (rc != SK_OK)
		goto out;
	rc = write_new_file(
	    pub_path, pub_line, strlen(pub_line), 0644, "public key", err);
	if (rc != SK_OK)
		unlink(key_path);
out:
	sodium_free(sk);
	if (sec_line != NULL)
		sodium_free(sec_line);
	free(key_path);
	free(pub_path);
	return rc;
}

/* Read a key file of at most KEY_FILE_MAX bytes into buf (size
 * KEY_FILE_MAX + 1, NUL-terminated); with check_mode, refuse one that
 * group or others can access. The mode is taken from the open descriptor
 * so it describes the very file we read. */
static int
read_key_file(const char *path, char *buf, size_t *len, int check_mode,
    const char *what, sk_err *err)
{
	struct stat st;
	size_t n = 0;
	int fd, rc = SK_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sk_err_errno(err, SK_EIO, errno, "load %s %s", what, path);
	if (fstat(fd, &st) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "load %s %s", what, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sk_err_set(err, SK_EINVAL,
		    "load %s %s: not a regular file", what, path);
		goto out;
	}
	if (check_mode && (st.st_mode & 077) != 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "load %s %s: file is accessible by group or others (mode %04o)",
		    what, path, (unsigned)(st.st_mode & 07777));
		if (err != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "run: chmod 600 %s", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, KEY_FILE_MAX + 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = sk_err_errno(err, SK_EIO, errno, "load %s %s", what, path);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > KEY_FILE_MAX) {
			rc = sk_err_set(err, SK_EINVAL,
			    "load %s %s: malformed key file (too large)", what, path);
			goto out;
		}
	}
	buf[n] = '\0';
	*len = n;
out:
	close(fd);
	return rc;
}

/* Decode exactly b64_len base64 characters at s into bin_len bytes. */
static int
decode_b64(uint8_t *bin, size_t bin_len, const char *s, size_t b64_len)
{
	size_t got = 0;
	const char *end = NULL;

	if (sodium_base642bin(bin, bin_len, s, b64_len, NULL, &got, &end,
		sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (got != bin_len || end != s + b64_len)
		return -1;
	return 0;
}

int
sk_seckey_load(const char *path, sk_seckey **out, sk_err *err)
{
	const size_t plen = sizeof(SEC_PREFIX) - 1;
	uint8_t pk[SK_PUBKEY_LEN];
	uint8_t *check = NULL;
	sk_seckey *key = NULL;
	char *buf = NULL;
	size_t len = 0, tail;
	int rc;

	buf = sodium_malloc(KEY_FILE_MAX + 1);
	check = sodium_malloc(SK_SECKEY_LEN);
	key = calloc(1, sizeof(*key));
	if (key != NULL)
		key->sk = sodium_malloc(SK_SECKEY_LEN);
	if (buf == NULL || check == NULL || key == NULL || key->sk == NULL) {
		rc = sk_err_set(
		    err, SK_ENOMEM, "load secret key %s: out of memory", path);
		goto out;
	}
	rc = read_key_file(path, buf, &len, 1, "secret key", err);
	if (rc != SK_OK)
		goto out;
	tail = len >= plen + SEC_B64_LEN ? len - plen - SEC_B64_LEN : 0;
	if (len < plen + SEC_B64_LEN || memcmp(buf, SEC_PREFIX, plen) != 0 ||
	    !(tail == 0 || (tail == 1 && buf[len - 1] == '\n')) ||
	    decode_b64(key->sk, SK_SECKEY_LEN, buf + plen, SEC_B64_LEN) != 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "load secret key %s: malformed key file; expected one line "
		    "\"skein-ed25519-secret <base64 of 64 bytes>\"",
		    path);
		goto out;
	}
	/* An Ed25519 secret key is seed || public key. Re-deriving the pair
	 * from the seed catches a corrupted file before it signs anything. */
	crypto_sign_seed_keypair(pk, check, key->sk);
	if (sodium_memcmp(pk, key->sk + 32, SK_PUBKEY_LEN) != 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "load secret key %s: malformed key file; public half does not "
		    "match the seed",
		    path);
		goto out;
	}
	sk_pubkey_set(&key->pub, pk, path);
	*out = key;
	key = NULL;
	rc = SK_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	if (check != NULL)
		sodium_free(check);
	sk_seckey_destroy(key);
	return rc;
}

void
sk_seckey_destroy(sk_seckey *key)
{
	if (key == NULL)
		return;
	/* sodium_free wipes the memory before releasing it. */
	if (key->sk != NULL)
		sodium_free(key->sk);
	free(key);
}

const sk_pubkey *
sk_seckey_public(const sk_seckey *key)
{
	return &key->pub;
}

void
sk_seckey_sign(const sk_seckey *key, const uint8_t *msg, size_t len,
    uint8_t sig[SK_SIG_LEN])
{
	static const uint8_t empty[1];

	crypto_sign_detached(sig, NULL, msg ? msg : empty, len, key->sk);
}

int
sk_pubkey_load(const char *path, sk_pubkey *out, sk_err *err)
{
	const size_t plen = sizeof(PUB_PREFIX) - 1;
	char buf[KEY_FILE_MAX + 1];
	uint8_t pk[SK_PUBKEY_LEN];
	size_t len = 0;
	const char *p;
	int rc;

	rc = read_key_file(path, buf, &len, 0, "public key", err);
	if (rc != SK_OK)
		return rc;
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len < plen + PUB_B64_LEN || memcmp(buf, PUB_PREFIX, plen) != 0 ||
	    decode_b64(pk, sizeof(pk), buf + plen, PUB_B64_LEN) != 0)
		goto bad;
	/* After the key: nothing, or one space and a one-line comment. */
	p = buf + plen + PUB_B64_LEN;
	if (*p != '\0' && *p != ' ')
		goto bad;
	if (memchr(buf, '\0', len) != NULL || strchr(p, '\n') != NULL ||
	    strchr(p, '\r') != NULL)
		goto bad;
	sk_pubkey_set(out, pk, path);
	return SK_OK;
bad:
	return sk_err_set(err, SK_EINVAL,
	    "load public key %s: malformed key file; expected one line "
	    "\"skein-ed25519-public <base64 of 32 bytes> [comment]\"",
	    path);
}

int
sk_pubkey_verify(const sk_pubkey *key, const uint8_t *msg, size_t len,
    const uint8_t sig[SK_SIG_LEN])
{
	static const uint8_t empty[1];

	if (key == NULL || sig == NULL)
		return SK_ECRYPTO;
	if (crypto_sign_verify_detached(sig, msg ? msg : empty, len, key->pk) != 0)
		return SK_ECRYPTO;
	return SK_OK;
}

int
sk_keyring_add(sk_keyring *ring, const sk_pubkey *key, sk_err *err)
{
	sk_pubkey *keys;

	for (size_t i = 0; i < ring->n; i++)
		if (sodium_memcmp(ring->keys[i].pk, key->pk, SK_PUBKEY_LEN) == 0)
			return SK_OK;
	keys = realloc(ring->keys, (ring->n + 1) * sizeof(*keys));
	if (keys == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "pin key %s: out of memory", key->name);
	ring->keys = keys;
	ring->keys[ring->n++] = *key;
	return SK_OK;
}

int
sk_keyring_add_file(sk_keyring *ring, const char *path, sk_err *err)
{
	sk_pubkey key;
	int rc;

	rc = sk_pubkey_load(path, &key, err);
	if (rc != SK_OK)
		return rc;
	return sk_keyring_add(ring, &key, err);
}

const sk_pubkey *
sk_keyring_find(const sk_keyring *ring, const uint8_t id[SK_KEY_ID_LEN])
{
	if (ring == NULL)
		return NULL;
	for (size_t i = 0; i < ring->n; i++)
		if (memcmp(ring->keys[i].id, id, SK_KEY_ID_LEN) == 0)
			return &ring->keys[i];
	return NULL;
}

void
sk_keyring_fini(sk_keyring *ring)
{
	if (ring == NULL)
		return;
	free(ring->keys);
	ring->keys = NULL;
	ring->n = 0;
}
