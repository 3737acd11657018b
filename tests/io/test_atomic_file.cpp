// write_file_atomically: the new contents appear whole, or the old file stays as it was.
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include <gmock/gmock.h>

#include "host/io/atomic_file.h"
#include "io_test_util.h"

namespace cumlp::io::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s)); }

// Writes `contents` to `path` and expects cumlp::Error whose message contains every needle.
void expect_write_error(const std::string& path, const std::string& contents, std::vector<std::string> needles) {
  try {
    write_file_atomically(path, bytes_of(contents));
    ADD_FAILURE() << "writing " << path << " did not throw";
  } catch (const cumlp::Error& e) {
    for (const auto& n : needles) EXPECT_THAT(e.what(), HasSubstr(n));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "message is not one line";
  }
}

TEST(AtomicFile, CreatesThenReplaces) {
  TempDir dir;
  const auto path = dir.file("out.bin");
  write_file_atomically(path, bytes_of("first version"));
  EXPECT_EQ(read_all(path), "first version");
  write_file_atomically(path, bytes_of("second"));
  EXPECT_EQ(read_all(path), "second");
  EXPECT_THAT(dir.entries(), ElementsAre("out.bin"));
}

// A writer killed mid-write leaves "<target>.tmp.<pid>": the next write of
// the target removes it if that process is gone, and leaves the temporaries
// of live writers and unrelated files alone.
TEST(AtomicFile, NextWriteRemovesTemporariesOfDeadWriters) {
  TempDir dir;
  const auto path = dir.file("model.safetensors");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // reaped: the pid names no process now
  const std::string dead = path + ".tmp." + std::to_string(child), live = path + ".tmp.1";
  for (const auto& f : {dead, live, path + ".tmp.x1", dir.file("other.tmp.5")}) write_file_atomically(f, bytes_of("x"));
  write_file_atomically(path, bytes_of("new"));
  EXPECT_EQ(read_all(path), "new");
  EXPECT_THAT(dir.entries(), ElementsAre("model.safetensors", "model.safetensors.tmp.1", "model.safetensors.tmp.x1",
                                         "other.tmp.5"));
}

TEST(AtomicFile, ConcatenatesPiecesFromTheProducer) {
  TempDir dir;
  const auto path = dir.file("out.bin");
  write_file_atomically(path, [](const ByteSink& sink) {
    sink(bytes_of("ab"));
    sink({});
    sink(bytes_of("cde"));
  });
  EXPECT_EQ(read_all(path), "abcde");
}

TEST(AtomicFile, WritesEmptyFile) {
  TempDir dir;
  const auto path = dir.file("empty");
  write_file_atomically(path, std::span<const std::byte>{});
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST(AtomicFile, RelativePathInCurrentFolder) {
  TempDir dir;
  const auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  write_file_atomically("rel.txt", bytes_of("x"));
  std::filesystem::current_path(old_cwd);
  EXPECT_EQ(read_all(dir.file("rel.txt")), "x");
}

TEST(AtomicFile, ProducerExceptionKeepsOldFile) {
  TempDir dir;
  const auto path = dir.file("out.bin");
  write_all(path, "old");
  EXPECT_THROW(write_file_atomically(path,
                                     [](const ByteSink& sink) {
                                       sink(bytes_of("partial new"));
                                       throw std::runtime_error("producer failed");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_all(path), "old");
  EXPECT_THAT(dir.entries(), ElementsAre("out.bin"));
}

TEST(AtomicFile, DiskFullKeepsOldFile) {
  TempDir dir;
  const auto path = dir.file("out.bin");
  const std::string old(1000, 'o');
  write_all(path, old);
  const std::string big(1 << 20, 'n');
  const std::string message =
      error_with_file_size_limit(64 * 1024, [&] { write_file_atomically(path, bytes_of(big)); });
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("File too large"));
  EXPECT_EQ(read_all(path), old);
  EXPECT_THAT(dir.entries(), ElementsAre("out.bin"));
}

TEST(AtomicFile, ReadOnlyFolderKeepsOldFile) {
  TempDir dir;
  const auto path = dir.file("out.bin");
  write_all(path, "old");
  const std::optional<std::string> message =
      error_in_read_only_folder(dir.path(), [&] { write_file_atomically(path, bytes_of("new")); });
  if (!message) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_THAT(*message, HasSubstr(path));
  EXPECT_THAT(*message, HasSubstr("Permission denied"));
  EXPECT_EQ(read_all(path), "old");
  EXPECT_THAT(dir.entries(), ElementsAre("out.bin"));
}

TEST(AtomicFile, PathUnderRegularFileFails) {
  TempDir dir;
  write_all(dir.file("plain"), "not a folder");
  const auto path = dir.file("plain") + "/out.bin";
  expect_write_error(path, "new", {path, "Not a directory"});
  EXPECT_EQ(read_all(dir.file("plain")), "not a folder");
}

TEST(AtomicFile, MissingFolderFails) {
  TempDir dir;
  const auto path = dir.file("no/such/folder/out.bin");
  expect_write_error(path, "new", {path, "No such file or directory"});
  EXPECT_THAT(dir.entries(), ElementsAre());
}

// A directory in the way makes the final rename fail after the temporary was fully
// written and synced: the temporary must still be cleaned up.
TEST(AtomicFile, FailedRenameRemovesTemporary) {
  TempDir dir;
  const auto path = dir.file("taken");
  std::filesystem::create_directory(path);
  write_all(path + "/inside", "keep");
  expect_write_error(path, "new", {path, "rename"});
  EXPECT_EQ(read_all(path + "/inside"), "keep");
  EXPECT_THAT(dir.entries(), ElementsAre("taken"));
}

}  // namespace
}  // namespace cumlp::io::test
