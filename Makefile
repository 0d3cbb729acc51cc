EXTENSION = ipflow
EXTVERSION = 0.2.0

MODULE_big = ipflow
# Pure-C cores (no postgres.h) first, then the Postgres glue.
CORE_OBJS = src/murmur2.o src/ip.o src/settings.o src/json_tree.o src/text_buf.o src/config.o src/event.o src/stats.o \
	src/gbt.o src/gbt_train.o src/gbt_pipeline.o src/gbt_json.o \
	src/profile.o src/generator.o src/csv_events.o src/event_file.o \
	src/forecast.o src/forecast_sort.o src/forecast_design.o src/forecast_linalg.o src/forecast_fit.o \
	src/forecast_calendar.o src/forecast_predict.o \
	src/forecast_json.o src/forecast_backtest.o src/svg_chart.o \
	src/anomaly.o src/anomaly_json.o
OBJS = $(CORE_OBJS) src/ipflow.o src/guc.o src/shmem.o src/kafka.o src/broker.o src/launcher.o src/log_filter.o \
	src/ingest.o src/ingest_copy.o src/ingest_ips.o src/ingest_detect.o src/datum.o src/config_sql.o src/partition_sql.o src/stats_sql.o \
	src/redis.o src/redis_sql.o src/init_sql.o src/mirror.o \
	src/gbt_input_sql.o src/gbt_options_sql.o src/gbt_train_sql.o src/gbt_predict_sql.o src/gbt_file_sql.o \
	src/event_source.o src/generator_sql.o src/producer.o src/send_sql.o src/csv_sql.o \
	src/sender.o src/sender_sql.o src/svg_sql.o src/anomaly_sql.o \
	src/forecast_series_sql.o src/forecast_sql.o src/forecast_store_sql.o src/train_sql.o src/train_worker.o

DATA_built = src/sql/$(EXTENSION)--$(EXTVERSION).sql
# released install scripts are kept as they were, beside the upgrade scripts
DATA = $(filter-out $(DATA_built), $(wildcard src/sql/$(EXTENSION)--*.sql))

REGRESS = load_config partition guc redis_args gbt generator forecast anomaly schedules plot_svg upgrade
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CPPFLAGS = -Isrc
# Postgres' own headers and callback signatures have unused parameters.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter
# CI builds with WERROR=1: any compiler warning fails the build.
ifdef WERROR
PG_CFLAGS += -Werror
endif
SHLIB_LINK = -lrdkafka -lhiredis

EXTRA_CLEAN = test/bin test/unit/bin test/fuzz/bin bench/bin bench/gbt/bin bench/gbt/out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

src/sql/$(EXTENSION)--$(EXTVERSION).sql: src/sql/$(EXTENSION).sql
	cp $< $@

# PGXS tracks no header dependencies here: any header change rebuilds all
# objects (a stale object with an old struct layout corrupts shared memory).
$(OBJS): $(wildcard src/*.h)

# Unit tests of the pure-C cores, linked with Postgres' frontend libraries.
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)
PG_PKGLIBDIR := $(shell $(PG_CONFIG) --pkglibdir)
PG_INCLUDEDIR_SERVER := $(shell $(PG_CONFIG) --includedir-server)
TEST_CFLAGS = -g -O1 -Wall -Wextra -Wno-unused-parameter
ifdef WERROR
TEST_CFLAGS += -Werror
endif
UNIT_CFLAGS = $(TEST_CFLAGS) -Isrc -I$(PG_INCLUDEDIR_SERVER)
UNIT_LIBS = -L$(PG_LIBDIR) -L$(PG_PKGLIBDIR) -lpgcommon -lpgport -lm
UNIT_TESTS = $(patsubst test/unit/%.c,test/unit/bin/%,$(wildcard test/unit/test_*.c))
CORE_SRCS = $(CORE_OBJS:.o=.c)

test/unit/bin/%: test/unit/%.c $(wildcard test/unit/*.h) $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

unit: $(UNIT_TESTS)

# Events per second of the traffic generator on one core:
#   make bench-generator && bench/bin/generator [IPS [HOURS [SEED]]]
bench/bin/generator: bench/generator.c test/unit/logs_csv.h $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Wno-unused-parameter -Isrc -I$(PG_INCLUDEDIR_SERVER) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

bench-generator: bench/bin/generator

# Test helpers that speak Kafka through librdkafka.
test/bin/%: test/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lrdkafka

helpers: test/bin/mock_broker test/bin/kafkatool

# libFuzzer targets of the pure-C cores (needs clang): make fuzz [FUZZ_TIME=60]
# Each runs FUZZ_TIME seconds on its seeds (test/fuzz/corpus/NAME) plus a
# scratch corpus; a crash is written under FUZZ_WORK and fails the target.
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -I$(PG_INCLUDEDIR_SERVER)
FUZZ_TIME ?= 60
FUZZ_WORK ?= /tmp/ipflow-fuzz
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,test/fuzz/bin/%,$(wildcard test/fuzz/fuzz_*.c))

test/fuzz/bin/fuzz_%: test/fuzz/fuzz_%.c $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		name=$$(basename $$t); \
		mkdir -p $(FUZZ_WORK)/$$name || exit 1; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/test/fuzz/lsan.supp \
			$$t -max_total_time=$(FUZZ_TIME) -max_len=4096 \
			-artifact_prefix=$(FUZZ_WORK)/$$name- \
			$(FUZZ_WORK)/$$name test/fuzz/corpus/$${name#fuzz_} || exit 1; \
	done

# GBT benchmark against XGBoost (Debian's python3-xgboost, python3-sklearn):
# builds the C driver at -O2 like the extension, then runs both sides.
BENCH_PYTHON ?= /usr/bin/python3
BENCH_CFLAGS = -O2 -Wall -Wextra -Wno-unused-parameter -Isrc -I$(PG_INCLUDEDIR_SERVER)
ifdef WERROR
BENCH_CFLAGS += -Werror
endif

bench/gbt/bin/gbt_bench: bench/gbt/gbt_bench.c $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

bench-gbt: bench/gbt/bin/gbt_bench
	$(BENCH_PYTHON) bench/gbt/bench.py

# Forecast accuracy and fit time on data/logs.csv, optimised as the server
# build is: make bench-forecast [FORECAST_PARAMS='{"seasonality_mode":"multiplicative"}']
bench/bin/forecast: bench/forecast.c $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

FORECAST_PARAMS ?= {}

bench-forecast: bench/bin/forecast
	bench/bin/forecast data/logs.csv '$(FORECAST_PARAMS)'

# Events parsed per second by the event parser, on generated traffic:
#   make bench-event && bench/bin/event [IPS [HOURS [ROUNDS]]]
bench/bin/event: bench/event.c test/unit/logs_csv.h $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

bench-event: bench/bin/event

# F1 of the streaming anomaly detector on generated traffic, offline:
#   make bench-anomaly && bench/bin/anomaly [IPS [HOURS [SEED [THRESHOLD [PARAMS]]]]]
bench/bin/anomaly: bench/anomaly.c test/unit/logs_csv.h $(CORE_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

bench-anomaly: bench/bin/anomaly

# Static analysis of the C sources (CI fails on any finding).
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c99 src/

.PHONY: unit helpers lint fuzz bench-gbt bench-generator bench-forecast bench-anomaly bench-event
