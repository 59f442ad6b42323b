EXTENSION = secrets_store
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = secrets_store
OBJS = \
	src/audit.o \
	src/catalog.o \
	src/emit_log.o \
	src/explain_guard.o \
	src/keys.o \
	src/lookup.o \
	src/permissions.o \
	src/principal.o \
	src/quota.o \
	src/secrets_store.o \
	src/seal.o \
	src/session_guard.o \
	src/tokens.o \
	src/validate.o \
	src/values.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# pg_regress: sql/<test>.sql against expected/<test>.out
REGRESS = setup matrix duplicates plans catalog distribution upgrade
REGRESS_OPTS =

# isolation tests: specs/<test>.spec against expected/<test>.out
ISOLATION = revoke

PG_CPPFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
SHLIB_LINK = -lcrypto

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# pgTAP suite (test/*.sql), run against the installed extension
.PHONY: prove
prove:
	pg_prove --ext .sql -r test/
