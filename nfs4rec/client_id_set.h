// ClientIdSet: a set of client ids that keeps 8 bytes per id: a 64-bit
// keyed fingerprint (SipHash-2-4) in an open-addressing table, instead of
// the id itself (up to 1024 bytes, typically 30 to 60) in a tree node.
// TrackingService's sets of a million clients then cost 16 MB, not 150.
//
// Two ids may share a fingerprint.  With n ids in the set, an id outside it
// is taken for a member with probability n / 2^64 (a million ids: 5e-14),
// and the key, drawn from getrandom(2) per set, keeps a client from
// choosing an id that collides with another client's.
//
// Not thread-safe; a Hasher (the key only) may be copied to any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace nfsrec::nfs4rec {

class ClientIdSet {
 public:
  // The fingerprint function of one set: SipHash-2-4 under its key.
  class Hasher {
   public:
    Hasher(uint64_t k0, uint64_t k1) : k0_(k0), k1_(k1) {}
    uint64_t operator()(std::string_view id) const;

   private:
    uint64_t k0_;
    uint64_t k1_;
  };

  // A random key (getrandom(2); if that fails, the clock and an address).
  static Hasher RandomHasher();
  ClientIdSet() : hasher_(RandomHasher()) {}
  explicit ClientIdSet(Hasher hasher) : hasher_(hasher) {}

  const Hasher& hasher() const { return hasher_; }

  // Each returns or changes what the id's fingerprint says.
  bool insert(std::string_view id) { return InsertFingerprint(hasher_(id)); }
  size_t erase(std::string_view id) { return EraseFingerprint(hasher_(id)); }
  size_t count(std::string_view id) const { return Contains(hasher_(id)) ? 1 : 0; }
  // For fingerprints made with hasher() elsewhere (ClientStore::LoadDigest).
  bool InsertFingerprint(uint64_t fingerprint);
  size_t EraseFingerprint(uint64_t fingerprint);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Empties the set and gives its memory back.
  void clear();
  // Room for n ids without growing.
  void reserve(size_t n);
  size_t capacity_bytes() const { return slots_.size() * sizeof(uint64_t); }

 private:
  bool Contains(uint64_t fingerprint) const;
  void Rehash(size_t slots);

  Hasher hasher_;
  std::vector<uint64_t> slots_;  // 0: empty; a power of two in size
  size_t size_ = 0;
};

}  // namespace nfsrec::nfs4rec
