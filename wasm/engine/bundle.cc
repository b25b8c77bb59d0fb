#include "engine/bundle.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace loopwise {
namespace {
constexpr char kMagic[8] = {'L', 'W', 'B', 'U', 'N', 'D', 'L', 'E'};
constexpr uint32_t kMaxSections = 64;
constexpr size_t kEntryBytes = 4 + 8 + 8 + 4;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> kTable = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = kTable[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<uint8_t> BundleWriter::Finish() const {
  ByteWriter out;
  out.raw(kMagic, 8);
  out.u32(kBundleFormatVersion);
  out.u32(static_cast<uint32_t>(sections_.size()));
  uint64_t offset = 16 + kEntryBytes * sections_.size();
  for (const auto& [tag, bytes] : sections_) {
    out.u32(static_cast<uint32_t>(tag));
    out.u64(offset);
    out.u64(bytes.size());
    out.u32(Crc32(bytes.data(), bytes.size()));
    offset += bytes.size();
  }
  for (const auto& section : sections_) out.raw(section.second.data(), section.second.size());
  return std::move(out.bytes());
}

Result<Bundle> Bundle::Open(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t* magic = in.raw(8);
  if (!magic || std::memcmp(magic, kMagic, 8) != 0) {
    return Status::Error("not a Loopwise bundle (bad magic bytes)");
  }
  const uint32_t version = in.u32();
  if (!in.ok()) return Status::Error("bundle is truncated in its header");
  if (version != kBundleFormatVersion) {
    return Status::Error("bundle format version " + std::to_string(version) +
                         " is not supported (this engine reads version " +
                         std::to_string(kBundleFormatVersion) + "); publish the site again");
  }
  const uint32_t count = in.u32();
  if (!in.ok() || count > kMaxSections || count * kEntryBytes > in.remaining()) {
    return Status::Error("bundle is truncated or has an impossible section table");
  }
  Bundle bundle;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t tag = in.u32();
    const uint64_t offset = in.u64();
    const uint64_t length = in.u64();
    const uint32_t crc = in.u32();
    if (offset > size || length > size - offset) {
      return Status::Error("bundle is truncated: section " + std::to_string(i) +
                           " ends past the end of the file");
    }
    if (Crc32(data + offset, length) != crc) {
      return Status::Error("bundle is corrupt: checksum mismatch in section " + std::to_string(i));
    }
    if (!bundle.sections_.emplace(tag, Entry{data + offset, static_cast<size_t>(length)}).second) {
      return Status::Error("bundle is corrupt: a section appears twice");
    }
  }
  return bundle;
}

Result<std::vector<uint8_t>> Bundle::WithSection(const uint8_t* data, size_t size, Section tag,
                                                 std::vector<uint8_t> bytes) {
  auto opened = Open(data, size);
  if (!opened.ok()) return opened.status();
  // Sections in their order in the file, so a rewritten bundle differs only where it must.
  std::vector<std::pair<uint32_t, Entry>> sections(opened.value().sections_.begin(),
                                                   opened.value().sections_.end());
  std::sort(sections.begin(), sections.end(),
            [](const auto& a, const auto& b) { return a.second.data < b.second.data; });
  BundleWriter writer;
  bool replaced = false;
  for (const auto& [t, entry] : sections) {
    if (t == static_cast<uint32_t>(tag)) {
      writer.Add(tag, std::move(bytes));
      replaced = true;
    } else {
      writer.Add(static_cast<Section>(t),
                 std::vector<uint8_t>(entry.data, entry.data + entry.size));
    }
  }
  if (!replaced) writer.Add(tag, std::move(bytes));
  return writer.Finish();
}

Result<ByteReader> Bundle::Read(Section tag) const {
  auto it = sections_.find(static_cast<uint32_t>(tag));
  if (it == sections_.end()) {
    const uint32_t t = static_cast<uint32_t>(tag);
    const char name[5] = {char(t & 0xFF), char((t >> 8) & 0xFF), char((t >> 16) & 0xFF),
                          char(t >> 24), 0};
    return Status::Error(std::string("bundle has no ") + name + " section");
  }
  return ByteReader(it->second.data, it->second.size);
}

}  // namespace loopwise
