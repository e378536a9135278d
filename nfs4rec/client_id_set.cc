#include "nfs4rec/client_id_set.h"

#include <sys/random.h>

#include <chrono>
#include <cstring>

namespace nfsrec::nfs4rec {
namespace {

// Grow when more than 3/4 of the slots are taken: linear probing stays
// short (about 2.5 probes for a miss on average at that load).
constexpr size_t kMinSlots = 16;

bool OverLoaded(size_t entries, size_t slots) { return entries * 4 > slots * 3; }

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

// A fingerprint is never 0, the empty slot.
uint64_t NonZero(uint64_t h) { return h == 0 ? 1 : h; }

}  // namespace

uint64_t ClientIdSet::Hasher::operator()(std::string_view id) const {
  // SipHash-2-4 (Aumasson and Bernstein, 2012): 2 rounds per 8-byte word,
  // 4 at the end; the last word carries the length in its top byte.
  SipState s{k0_ ^ 0x736f6d6570736575ULL, k1_ ^ 0x646f72616e646f6dULL, k0_ ^ 0x6c7967656e657261ULL,
             k1_ ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const unsigned char*>(id.data());
  const size_t n = id.size();
  const size_t whole = n - n % 8;
  for (size_t i = 0; i < whole; i += 8) s.Absorb(LoadLe64(p + i));
  uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = 0; i < n % 8; ++i) last |= static_cast<uint64_t>(p[whole + i]) << (8 * i);
  s.Absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

ClientIdSet::Hasher ClientIdSet::RandomHasher() {
  uint64_t key[2] = {0, 0};
  if (::getrandom(key, sizeof(key), 0) != static_cast<ssize_t>(sizeof(key))) {
    // Without getrandom (very early boot): unpredictable enough to keep
    // ids from being chosen to collide on purpose.
    key[0] =
        static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
    key[1] = reinterpret_cast<uintptr_t>(&key) ^ (key[0] << 17);
  }
  return Hasher(key[0], key[1]);
}

bool ClientIdSet::Contains(uint64_t fingerprint) const {
  if (slots_.empty()) return false;
  const uint64_t f = NonZero(fingerprint);
  const size_t mask = slots_.size() - 1;
  for (size_t i = f & mask;; i = (i + 1) & mask) {
    if (slots_[i] == f) return true;
    if (slots_[i] == 0) return false;
  }
}

bool ClientIdSet::InsertFingerprint(uint64_t fingerprint) {
  if (slots_.empty() || OverLoaded(size_ + 1, slots_.size())) {
    Rehash(slots_.empty() ? kMinSlots : slots_.size() * 2);
  }
  const uint64_t f = NonZero(fingerprint);
  const size_t mask = slots_.size() - 1;
  for (size_t i = f & mask;; i = (i + 1) & mask) {
    if (slots_[i] == f) return false;
    if (slots_[i] == 0) {
      slots_[i] = f;
      ++size_;
      return true;
    }
  }
}

size_t ClientIdSet::EraseFingerprint(uint64_t fingerprint) {
  if (slots_.empty()) return 0;
  const uint64_t f = NonZero(fingerprint);
  const size_t mask = slots_.size() - 1;
  size_t i = f & mask;
  while (slots_[i] != f) {
    if (slots_[i] == 0) return 0;
    i = (i + 1) & mask;
  }
  // Backward shift: move later members of the run into the hole when their
  // home slot lies at or before it, so no tombstones are needed.
  size_t hole = i;
  for (size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    const size_t home = slots_[j] & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  --size_;
  return 1;
}

void ClientIdSet::clear() {
  std::vector<uint64_t>().swap(slots_);
  size_ = 0;
}

void ClientIdSet::reserve(size_t n) {
  size_t slots = slots_.empty() ? kMinSlots : slots_.size();
  while (OverLoaded(n, slots)) slots *= 2;
  if (slots != slots_.size()) Rehash(slots);
}

void ClientIdSet::Rehash(size_t slots) {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(slots, 0);
  size_ = 0;
  for (uint64_t f : old) {
    if (f != 0) InsertFingerprint(f);
  }
}

}  // namespace nfsrec::nfs4rec
