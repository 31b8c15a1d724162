// What a run writes never destroys what the user has: the paths of a run are checked before
// anything is removed, the output directory is locked, and I/O failures are reported as
// such (issue: reliability, items 2 to 5 and 12).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_util.hpp"
#include <spikenn/eventlog.hpp>

using namespace spikenn;

namespace {

// A finished run of the demo into dir, whose files the tests then protect.
std::map<std::string, std::string> demo_into(const fs::path& dir) {
    fs::remove_all(dir);
    const Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' -q", dir.string()));
    REQUIRE(r.code == 0);
    return files_of(dir);
}

} // namespace

// Item 2: the log may not be an output file of the same run, the scenario, or a file the
// scenario names; each is refused before anything is written.
TEST_CASE("--record refuses the run's own outputs and inputs") {
    const fs::path dir = scratch / "record_clash";
    fs::remove_all(dir);
    const auto before = demo_into(dir / "o");
    Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' --record '{}' -q", (dir / "o").string(), (dir / "o" / "spikes.csv").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("which the run writes") != std::string::npos);
    CHECK(files_of(dir / "o") == before);
    // The page --plot draws is an output too.
    r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' --record '{}' --plot -q", (dir / "o").string(), (dir / "o" / "plot.svg").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("which the run writes") != std::string::npos);
    CHECK(files_of(dir / "o") == before);

    fs::copy_file(fs::path(SPIKENN_SOURCE_DIR) / "scenarios/demo.yaml", dir / "demo.yaml");
    const std::string text = slurp(dir / "demo.yaml");
    r = run_cli(fmt::format("run '{}' --out '{}' --record '{}' -q", (dir / "demo.yaml").string(), (dir / "o2").string(), (dir / "demo.yaml").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("which the run reads") != std::string::npos);
    CHECK(slurp(dir / "demo.yaml") == text);

    // A file the scenario names: the golden network's weights.
    const fs::path golden = fs::path(SPIKENN_SOURCE_DIR) / "tests/golden/network";
    const std::string weights = slurp(golden / "weights.safetensors");
    r = run_cli(fmt::format("run '{}' --out '{}' --record '{}' -q", (golden / "scenario.yaml").string(), (dir / "o3").string(),
        (golden / "weights.safetensors").string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("which the run reads") != std::string::npos);
    CHECK(slurp(golden / "weights.safetensors") == weights);
}

// Item 3: a bad log path (or checkpoint directory) is found before the earlier run's
// results are removed, and leaves no .partial files.
TEST_CASE("a run that fails on a path leaves the earlier results as they were") {
    const fs::path dir = scratch / "bad_path";
    const auto before = demo_into(dir);
    Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' --record /nonexistent/dir/x.evlog -q", dir.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("/nonexistent/dir") != std::string::npos);
    CHECK(files_of(dir) == before);

    // A checkpoint directory that cannot be created is the user's error, with the reason.
    r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' --checkpoint-every 1s --checkpoint-dir scenarios/demo.yaml/ck -q", dir.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("--checkpoint-dir scenarios/demo.yaml/ck: cannot create the directory") != std::string::npos);
    CHECK(r.err.find("internal error") == std::string::npos);
    CHECK(files_of(dir) == before);
}

// Item 4: while one run holds the output directory, a second is refused clearly (the lock
// is taken here as a running spikenn takes it).
TEST_CASE("a second run into a directory in use is refused") {
    const fs::path dir = scratch / "locked";
    const auto before = demo_into(dir);
    const int fd = ::open((dir / ".spikenn.lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' -q", dir.string()));
    CHECK(r.code == 2);
    CHECK(r.err.find("another spikenn run is writing into this directory") != std::string::npos);
    CHECK(files_of(dir) == before);
    ::close(fd);
    r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' -q", dir.string()));
    CHECK(r.code == 0);
    CHECK(files_of(dir) == before);
}

// Item 5: a log deleted or replaced while the run writes it fails the run at the end.
TEST_CASE("a log deleted or replaced during the run fails it") {
    const fs::path dir = scratch / "log_gone";
    fs::remove_all(dir);
    fs::create_directories(dir);
    LogHeader h;
    h.engine_version = "test";
    LogRecord rec;
    rec.number = 1;
    SUBCASE("deleted") {
        EventLogWriter w(dir / "a.evlog", h);
        w.add(rec);
        fs::remove(dir / "a.evlog");
        CHECK_THROWS_WITH_AS(w.finish(), doctest::Contains("deleted while the run wrote it"), IoError);
    }
    SUBCASE("replaced") {
        EventLogWriter w(dir / "b.evlog", h);
        w.add(rec);
        std::ofstream(dir / "other") << "x";
        fs::rename(dir / "other", dir / "b.evlog");
        CHECK_THROWS_WITH_AS(w.finish(), doctest::Contains("replaced by another file"), IoError);
    }
}

// Item 12: a full disk is an I/O failure of the run (exit 1, the path and the system's
// reason), for the event log and for the output files alike; what was written stays.
TEST_CASE("write failures exit 1 with the path and the reason") {
    const fs::path dir = scratch / "full_disk";
    fs::remove_all(dir);
    Result r = run_cli(fmt::format("run scenarios/demo.yaml --out '{}' --record /dev/full -q", (dir / "a").string()));
    CHECK(r.code == 1);
    CHECK(r.err.find("/dev/full: write failed: No space left on device") != std::string::npos);
    CHECK(r.err.find("it had not started") != std::string::npos); // the header write failed

    // A file-size limit makes every write past 1 KiB fail, as a full disk would (the signal
    // it raises is ignored, so that the write returns the error).
    const fs::path out = dir / "b";
    const std::string cmd = fmt::format("cd '{}' && sh -c \"trap '' XFSZ; ulimit -f 1; exec '{}' run scenarios/demo.yaml --out '{}' -q\" >'{}' 2>&1",
        SPIKENN_SOURCE_DIR, SPIKENN_BINARY, out.string(), (dir / "b.txt").string());
    fs::create_directories(dir);
    const int status = std::system(cmd.c_str());
    const std::string err = slurp(dir / "b.txt");
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(err.find("write failed: File too large") != std::string::npos);
    CHECK(err.find("internal error") == std::string::npos);
    CHECK(fs::exists(out / "spikes.csv.partial"));
    CHECK(!fs::exists(out / "summary.json"));
}
