// The containers under MonitorIndex (statd/monitor_index.h): slots in
// pages that never move, and a hash table of 32-bit slot ids.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "statd/monitor_index.h"

namespace nfsrec::statd::slot_tables {

constexpr uint32_t kNone = MonitorIndex::kNone;
constexpr uint32_t kPage = 1024;

// Fixed-size slots in pages that never move, so references stay valid
// while more slots are added.
template <typename T>
class Pages {
 public:
  T& operator[](uint32_t i) { return pages_[i / kPage][i % kPage]; }
  const T& operator[](uint32_t i) const { return pages_[i / kPage][i % kPage]; }
  uint32_t Add() {
    if (count_ % kPage == 0) pages_.push_back(std::make_unique<T[]>(kPage));
    return count_++;
  }
  uint32_t count() const { return count_; }
  size_t bytes() const { return pages_.size() * kPage * sizeof(T); }

 private:
  std::vector<std::unique_ptr<T[]>> pages_;
  uint32_t count_ = 0;
};

// Open addressing with linear probing over 32-bit ids (kNone: empty), at most half full.
// A bucket is the id alone: the hash of a stored id comes from its owner
// (hash_of), which keeps it beside the thing the id names.
class IdTable {
 public:
  template <typename HashOf>
  void Insert(uint32_t id, uint32_t hash, HashOf hash_of) {
    if ((used_ + 1) * 2 > buckets_.size()) Grow(hash_of);
    size_t i = hash & mask();
    while (buckets_[i] != kNone) i = (i + 1) & mask();
    buckets_[i] = id;
    ++used_;
  }

  // Room for `ids` ids without growing.
  template <typename HashOf>
  void Reserve(size_t ids, HashOf hash_of) {
    size_t want = 16;
    while (want < ids * 2) want *= 2;
    if (want > buckets_.size()) Rehash(want, hash_of);
  }

  template <typename HashOf>
  void Erase(uint32_t id, uint32_t hash, HashOf hash_of) {
    if (buckets_.empty()) return;
    size_t hole = hash & mask();
    while (buckets_[hole] != id) {
      if (buckets_[hole] == kNone) return;
      hole = (hole + 1) & mask();
    }
    // Backward shift: a later member of the run moves into the hole when
    // the hole lies between its home bucket and where it sits, so every
    // probe run stays unbroken without tombstones.
    for (size_t j = (hole + 1) & mask(); buckets_[j] != kNone; j = (j + 1) & mask()) {
      const size_t home = hash_of(buckets_[j]) & mask();
      if (((j - home) & mask()) >= ((j - hole) & mask())) {
        buckets_[hole] = buckets_[j];
        hole = j;
      }
    }
    buckets_[hole] = kNone;
    --used_;
  }

  // fn(id) for every id in the probe run of `hash` (candidates: the caller
  // compares); stops early when fn returns true.
  template <typename Fn>
  void Probe(uint32_t hash, Fn fn) const {
    if (buckets_.empty()) return;
    for (size_t i = hash & mask(); buckets_[i] != kNone; i = (i + 1) & mask()) {
      if (fn(buckets_[i])) return;
    }
  }

  size_t bytes() const { return buckets_.capacity() * sizeof(uint32_t); }

 private:
  size_t mask() const { return buckets_.size() - 1; }

  template <typename HashOf>
  void Grow(HashOf hash_of) {
    Rehash(std::max<size_t>(16, buckets_.size() * 2), hash_of);
  }

  // `size` is a power of two.
  template <typename HashOf>
  void Rehash(size_t size, HashOf hash_of) {
    std::vector<uint32_t> old = std::move(buckets_);
    buckets_.assign(size, kNone);
    for (uint32_t id : old) {
      if (id == kNone) continue;
      size_t i = hash_of(id) & mask();
      while (buckets_[i] != kNone) i = (i + 1) & mask();
      buckets_[i] = id;
    }
  }

  std::vector<uint32_t> buckets_;
  size_t used_ = 0;
};

}  // namespace nfsrec::statd::slot_tables
