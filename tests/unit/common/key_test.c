/* key_test: key files, key ids, signing against a known Ed25519 vector,
 * refusal of unsafe or malformed key files, and pinned key sets. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sk_key.h"
#include "sk_util.h"

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static const char rfc_seed_hex[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pk_hex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig_hex[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/* The same key in skein's file format and its id, computed independently
 * (Python: base64 of seed||pk, blake2b(pk, digest_size=32)[:8]). */
static const char rfc_sec_line[] =
    "skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==\n";
static const char rfc_pub_line[] =
    "skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= rfc8032\n";
static const char rfc_key_id[] = "7849ac3049680be1";

static char tmpdir[64];

static int
setup_dir(void **state)
{
	sk_err err;

	(void)state;
	if (sk_crypto_init(&err) != SK_OK)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-key-test-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
from_hex(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	assert_int_equal(
	    sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

static char *
tmp_path(const char *name)
{
	char *p = sk_path_join(tmpdir, name);

	assert_non_null(p);
	return p;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *
slurp(const char *path)
{
	char *data = NULL;
	sk_err err;

	assert_int_equal(sk_file_read(path, 4096, &data, NULL, &err), SK_OK);
	return data;
}

static void
test_key_generate_then_load_round_trips_and_signs(void **state)
{
	char *base = tmp_path("release");
	char *key_path = tmp_path("release.key");
	char *pub_path = tmp_path("release.pub");
	static const uint8_t msg[] = "apply 0001_add_column in af";
	uint8_t sig[SK_SIG_LEN];
	sk_seckey *key = NULL;
	sk_pubkey pub;
	struct stat st;
	sk_err err;

	(void)state;
	assert_int_equal(sk_key_generate(base, &err), SK_OK);
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_OK);
	assert_int_equal(sk_pubkey_load(pub_path, &pub, &err), SK_OK);
	assert_memory_equal(sk_seckey_public(key)->pk, pub.pk, SK_PUBKEY_LEN);
	assert_memory_equal(sk_seckey_public(key)->id, pub.id, SK_KEY_ID_LEN);
	assert_string_equal(pub.name, pub_path);

	sk_seckey_sign(key, msg, sizeof(msg), sig);
	assert_int_equal(sk_pubkey_verify(&pub, msg, sizeof(msg), sig), SK_OK);
	assert_int_equal(sk_pubkey_verify(&pub, msg, sizeof(msg) - 1, sig), SK_ECRYPTO);
	sig[10] ^= 0x01;
	assert_int_equal(sk_pubkey_verify(&pub, msg, sizeof(msg), sig), SK_ECRYPTO);

	/* The public file carries the key name as its comment. */
	{
		char *text = slurp(pub_path);

		assert_non_null(strstr(text, " release\n"));
		assert_memory_equal(text, "skein-ed25519-public ", 21);
		free(text);
	}
	sk_seckey_destroy(key);
	free(base);
	free(key_path);
	free(pub_path);
}

static void
test_key_id_is_stable_blake2b_prefix_of_public_key(void **state)
{
	uint8_t pk[SK_PUBKEY_LEN], h[32];
	char hex[2 * SK_KEY_ID_LEN + 1];
	sk_pubkey a, b;

	(void)state;
	from_hex(rfc_pk_hex, pk, sizeof(pk));
	sk_pubkey_set(&a, pk, "a");
	sk_pubkey_set(&b, pk, "another label");
	assert_memory_equal(a.id, b.id, SK_KEY_ID_LEN);
	crypto_generichash(h, sizeof(h), pk, sizeof(pk), NULL, 0);
	assert_memory_equal(a.id, h, SK_KEY_ID_LEN);
	sk_key_id_hex(a.id, hex);
	assert_string_equal(hex, rfc_key_id);
	pk[0] ^= 1;
	sk_pubkey_set(&b, pk, "b");
	assert_memory_not_equal(a.id, b.id, SK_KEY_ID_LEN);
}

static void
test_ed25519_rfc8032_vector_1(void **state)
{
	uint8_t seed[32], pk_want[32], sig_want[64], pk[32], sk[64], sig[64];
	char *key_path = tmp_path("rfc.key");
	char *pub_path = tmp_path("rfc.pub");
	sk_seckey *key = NULL;
	sk_pubkey pub;
	char hex[17];
	sk_err err;

	(void)state;
	from_hex(rfc_seed_hex, seed, sizeof(seed));
	from_hex(rfc_pk_hex, pk_want, sizeof(pk_want));
	from_hex(rfc_sig_hex, sig_want, sizeof(sig_want));
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(pk, pk_want, 32);

	/* The vector's key, in skein's file format, signs the vector. */
	write_file(key_path, rfc_sec_line, 0600);
	write_file(pub_path, rfc_pub_line, 0644);
	assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_OK);
	assert_memory_equal(sk_seckey_public(key)->pk, pk_want, 32);
	sk_seckey_sign(key, NULL, 0, sig);
	assert_memory_equal(sig, sig_want, 64);

	assert_int_equal(sk_pubkey_load(pub_path, &pub, &err), SK_OK);
	assert_memory_equal(pub.pk, pk_want, 32);
	sk_key_id_hex(pub.id, hex);
	assert_string_equal(hex, rfc_key_id);
	assert_int_equal(sk_pubkey_verify(&pub, NULL, 0, sig_want), SK_OK);
	assert_int_equal(
	    sk_pubkey_verify(&pub, (const uint8_t *)"x", 1, sig_want), SK_ECRYPTO);
	for (size_t i = 0; i < 64; i++) {
		sig[i] ^= 0x80;
		assert_int_equal(sk_pubkey_verify(&pub, NULL, 0, sig), SK_ECRYPTO);
		sig[i] ^= 0x80;
	}
	sodium_memzero(sk, sizeof(sk));
	sk_seckey_destroy(key);
	free(key_path);
	free(pub_path);
}

static void
test_seckey_readable_by_group_or_others_is_refused_with_chmod_hint(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0601 };
	char *key_path = tmp_path("loose.key");
	sk_seckey *key = NULL;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_file(key_path, rfc_sec_line, modes[i]);
		assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_EINVAL);
		assert_null(key);
		assert_non_null(strstr(err.msg, key_path));
		assert_non_null(strstr(err.hint, "chmod 600"));
	}
	/* 0400 is as private as 0600. */
	write_file(key_path, rfc_sec_line, 0400);
	assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_OK);
	sk_seckey_destroy(key);
	free(key_path);
}

static void
test_keygen_refuses_to_overwrite_existing_files(void **state)
{
	char *base = tmp_path("ops");
	char *key_path = tmp_path("ops.key");
	char *pub_path = tmp_path("ops.pub");
	char *base2 = tmp_path("half");
	char *key2 = tmp_path("half.key");
	char *pub2 = tmp_path("half.pub");
	char *key_before, *pub_before, *key_after, *pub_after;
	struct stat st;
	sk_err err;

	(void)state;
	assert_int_equal(sk_key_generate(base, &err), SK_OK);
	key_before = slurp(key_path);
	pub_before = slurp(pub_path);
	assert_int_equal(sk_key_generate(base, &err), SK_EIO);
	assert_non_null(strstr(err.msg, key_path));
	assert_true(err.hint[0] != '\0');
	key_after = slurp(key_path);
	pub_after = slurp(pub_path);
	assert_string_equal(key_before, key_after);
	assert_string_equal(pub_before, pub_after);

	/* A stray .pub also blocks generation, and no lone .key is left. */
	write_file(pub2, "not mine\n", 0644);
	assert_int_equal(sk_key_generate(base2, &err), SK_EIO);
	assert_non_null(strstr(err.msg, pub2));
	assert_int_equal(stat(key2, &st), -1);
	free(key_before);
	free(pub_before);
	free(key_after);
	free(pub_after);
	free(base);
	free(key_path);
	free(pub_path);
	free(base2);
	free(key2);
	free(pub2);
}

static void
test_malformed_key_files_are_rejected_naming_the_path(void **state)
{
	static const char *const bad_sec[] = {
		"",
		"\n",
		"skein-ed25519-secret \n",
		"skein-ed25519-public nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==\n",
		"skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==\n\n",
		"skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg== x\n",
		"skein-ed25519-secret  nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==\n",
		"skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRG\n",
		"skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdR!!==\n",
		/* Seed and public half disagree: the last public byte changed. */
		"skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGw==\n",
	};
	static const char *const bad_pub[] = {
		"",
		"skein-ed25519-public\n",
		"skein-ed25519-secret 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR=\n",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=x\n",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= c\nsecond line\n",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n\n",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
	};
	static const char *const good_pub[] = {
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n",
		"skein-ed25519-public 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= release key 2026\n",
	};
	char *key_path = tmp_path("bad.key");
	char *pub_path = tmp_path("bad.pub");
	sk_seckey *key = NULL;
	sk_pubkey pub;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_sec) / sizeof(bad_sec[0]); i++) {
		write_file(key_path, bad_sec[i], 0600);
		assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_EINVAL);
		assert_null(key);
		assert_non_null(strstr(err.msg, key_path));
	}
	/* Without the trailing newline the secret still loads. */
	write_file(key_path,
	    "skein-ed25519-secret nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==",
	    0600);
	assert_int_equal(sk_seckey_load(key_path, &key, &err), SK_OK);
	sk_seckey_destroy(key);

	for (size_t i = 0; i < sizeof(bad_pub) / sizeof(bad_pub[0]); i++) {
		write_file(pub_path, bad_pub[i], 0644);
		assert_int_equal(sk_pubkey_load(pub_path, &pub, &err), SK_EINVAL);
		assert_non_null(strstr(err.msg, pub_path));
	}
	for (size_t i = 0; i < sizeof(good_pub) / sizeof(good_pub[0]); i++) {
		char hex[17];

		write_file(pub_path, good_pub[i], 0644);
		assert_int_equal(sk_pubkey_load(pub_path, &pub, &err), SK_OK);
		sk_key_id_hex(pub.id, hex);
		assert_string_equal(hex, rfc_key_id);
	}
	assert_int_equal(sk_pubkey_load(tmpdir, &pub, &err), SK_EINVAL);
	free(key_path);
	free(pub_path);
}

static void
test_missing_key_file_is_an_io_error(void **state)
{
	char *path = tmp_path("absent.key");
	sk_seckey *key = NULL;
	sk_pubkey pub;
	sk_err err;

	(void)state;
	assert_int_equal(sk_seckey_load(path, &key, &err), SK_EIO);
	assert_null(key);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(sk_pubkey_load(path, &pub, &err), SK_EIO);
	free(path);
}

static void
test_keyring_ignores_duplicates_and_finds_by_id(void **state)
{
	char *pub_path = tmp_path("ring.pub");
	char *base = tmp_path("other");
	char *other_path = tmp_path("other.pub");
	uint8_t unknown[SK_KEY_ID_LEN] = { 0 };
	sk_keyring ring = { 0 };
	sk_pubkey rfc;
	sk_err err;

	(void)state;
	write_file(pub_path, rfc_pub_line, 0644);
	assert_int_equal(sk_key_generate(base, &err), SK_OK);
	assert_int_equal(sk_keyring_add_file(&ring, pub_path, &err), SK_OK);
	assert_int_equal(sk_keyring_add_file(&ring, pub_path, &err), SK_OK);
	assert_int_equal(ring.n, 1);
	assert_int_equal(sk_keyring_add_file(&ring, other_path, &err), SK_OK);
	assert_int_equal(ring.n, 2);
	assert_int_equal(sk_pubkey_load(pub_path, &rfc, &err), SK_OK);
	assert_int_equal(sk_keyring_add(&ring, &rfc, &err), SK_OK);
	assert_int_equal(ring.n, 2);
	assert_ptr_equal(sk_keyring_find(&ring, rfc.id), &ring.keys[0]);
	assert_string_equal(sk_keyring_find(&ring, ring.keys[1].id)->name, other_path);
	assert_null(sk_keyring_find(&ring, unknown));
	assert_null(sk_keyring_find(NULL, unknown));
	assert_int_equal(sk_keyring_add_file(&ring, tmpdir, &err), SK_EINVAL);
	assert_int_equal(ring.n, 2);
	sk_keyring_fini(&ring);
	assert_int_equal(ring.n, 0);
	assert_null(ring.keys);
	sk_keyring_fini(NULL);
	sk_seckey_destroy(NULL);
	free(pub_path);
	free(base);
	free(other_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_generate_then_load_round_trips_and_signs),
		cmocka_unit_test(test_key_id_is_stable_blake2b_prefix_of_public_key),
		cmocka_unit_test(test_ed25519_rfc8032_vector_1),
		cmocka_unit_test(
		    test_seckey_readable_by_group_or_others_is_refused_with_chmod_hint),
		cmocka_unit_test(test_keygen_refuses_to_overwrite_existing_files),
		cmocka_unit_test(test_malformed_key_files_are_rejected_naming_the_path),
		cmocka_unit_test(test_missing_key_file_is_an_io_error),
		cmocka_unit_test(test_keyring_ignores_duplicates_and_finds_by_id),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
