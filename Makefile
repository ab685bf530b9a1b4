# The two entry points of README.md. Both install what they need first.
BUILD_DIR ?= build
# The same tests again, built with ThreadSanitizer and with AddressSanitizer + UBSan (see
# CMakeLists.txt, ORDO_SANITIZE).
TSAN_DIR ?= build-tsan
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
# `make run` archives the log continuously into a local repository beside the data directory,
# so point-in-time recovery works from the first minute. Point it elsewhere with
# `make run ORDO_REPO=/mnt/backups/ordo`.
ORDO_DATA ?= ./data
ORDO_REPO ?= ./ordo-repo

.PHONY: deps build build-tsan build-asan run test bench clean

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/ordo serve --data $(ORDO_DATA) --repo $(ORDO_REPO) --archive

build-tsan: deps
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDO_SANITIZE=thread >/dev/null
	cmake --build $(TSAN_DIR) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDO_SANITIZE=address >/dev/null
	cmake --build $(ASAN_DIR) -j $(JOBS)

# Every test three times: in the normal build, under ThreadSanitizer, and under AddressSanitizer
# with UBSan. Each run prints CTest's summary.
test: build build-tsan build-asan
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 --timeout 900
	cd $(TSAN_DIR) && ctest --output-on-failure -j 2 --timeout 900
	cd $(ASAN_DIR) && ctest --output-on-failure -j 2 --timeout 900

bench: build
	./bench/run.sh

clean:
	rm -rf $(BUILD_DIR) $(TSAN_DIR) $(ASAN_DIR)
