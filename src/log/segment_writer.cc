#include "log/segment_writer.h"

#include <algorithm>

#include "fmt/format.h"
#include "util/coding.h"

namespace ordo::log {

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(FileSystem* fs,
                                                             const std::string& log_directory,
                                                             const SegmentHeader& header) {
  const std::string path = log_directory + "/" + SegmentFileName(header.segment_id);
  // The index keeps segment ids in 4 bytes: going on would wrap there. Refused before anything
  // is created, so the log stays as it is (DecodeSegmentHeader refuses such an id too).
  if (header.segment_id > kSegmentIdMax) {
    return Status::NotSupported(fmt::format(
        "{}: cannot create segment {}: the log has reached the last segment id this build "
        "supports ({})",
        path, header.segment_id, kSegmentIdMax));
  }
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(fs, path, std::move(file), header));
  const std::string bytes = EncodeSegmentHeader(header);
  ORDO_RETURN_IF_ERROR(writer->file_->Append(bytes));
  ORDO_RETURN_IF_ERROR(writer->file_->SyncAll());
  ORDO_RETURN_IF_ERROR(fs->SyncDir(log_directory));
  writer->checksum_.Update(bytes);
  writer->size_ = bytes.size();
  writer->preallocated_bytes_ = bytes.size();
  writer->last_lsn_ = header.first_lsn - 1;
  // The previous segment was sealed (fsynced) before this one was created.
  writer->durable_lsn_ = writer->last_lsn_;
  return writer;
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Reopen(
    FileSystem* fs, const std::string& path, const SegmentHeader& header, uint64_t size,
    uint64_t record_count, uint64_t last_lsn, const StreamingChecksum& checksum) {
  // What recovery read from the segment: its records follow the header and carry the LSNs from
  // first_lsn to last_lsn, one each (recovery checked it record by record).
  assert(size >= kSegmentHeaderBytes && size <= kSegmentFileBytesMax - kSegmentFooterBytes);
  assert(last_lsn + 1 - header.first_lsn == record_count);
  ORDO_ASSIGN_OR_RETURN(auto file, fs->ReopenWritableFile(path));
  if (file->Size() != size) {
    return Status::Corruption(
        fmt::format("{}: expected {} bytes when reopening, found {}", path, size, file->Size()));
  }
  ORDO_RETURN_IF_ERROR(file->Sync());
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(fs, path, std::move(file), header));
  writer->size_ = size;
  writer->preallocated_bytes_ = size;
  writer->record_count_ = record_count;
  writer->last_lsn_ = last_lsn;
  writer->durable_lsn_ = last_lsn;
  writer->checksum_ = checksum;
  return writer;
}

Status SegmentWriter::Check(Status status) {
  if (!status.ok()) state_ = State::kFailed;
  return status;
}

Status SegmentWriter::Sync() {
  assert(state_ == State::kOpen);
  ORDO_RETURN_IF_ERROR(Check(file_->Sync()));
  durable_lsn_ = last_lsn_;
  return Status::Ok();
}

Status SegmentWriter::Append(std::span<char> records, uint64_t record_count, uint64_t last_lsn) {
  assert(state_ == State::kOpen);
  assert(header_.format_version == kFormatVersion);
  // LSNs continue without a gap (the reader checks the same: an LSN where another was expected
  // is corruption). O(1): the first record's LSN, and the count.
  assert(record_count > 0 && last_lsn == last_lsn_ + record_count);
  assert(records.size() >= kRecordHeaderBytes + kRecordFixedPayloadBytes);
  assert(DecodeFixed64(records.data() + kRecordHeaderBytes) == last_lsn_ + 1);
  // The caller rotates before a segment outgrows what the index can address; the footer still
  // has to fit after these records.
  assert(size_ + records.size() <= kSegmentFileBytesMax - kSegmentFooterBytes);
  const uint64_t stamped = StampRecords(records, durable_lsn_);
  assert(stamped == record_count);
  (void)stamped;
  const uint64_t end = size_ + records.size();
  if (preallocate_chunk_bytes_ > 0 && end > preallocated_bytes_) {
    const uint64_t target =
        std::max(end, std::min(end + preallocate_chunk_bytes_, preallocate_limit_bytes_));
    ORDO_RETURN_IF_ERROR(Check(file_->Preallocate(target)));
    preallocated_bytes_ = target;
  }
  const std::string_view bytes(records.data(), records.size());
  ORDO_RETURN_IF_ERROR(Check(file_->Append(bytes)));
  checksum_.Update(bytes);
  size_ += records.size();
  record_count_ += record_count;
  last_lsn_ = last_lsn;
  assert(file_->Size() == size_);
  return Status::Ok();
}

Status SegmentWriter::Finish() {
  assert(state_ == State::kOpen);
  ORDO_RETURN_IF_ERROR(Check(file_->TrimPreallocation()));
  preallocated_bytes_ = size_;
  ORDO_RETURN_IF_ERROR(Check(file_->SyncAll()));
  durable_lsn_ = last_lsn_;
  return Status::Ok();
}

Result<SegmentFooter> SegmentWriter::Seal() {
  assert(state_ == State::kOpen);
  SegmentFooter footer;
  footer.last_lsn = last_lsn_;
  footer.record_count = record_count_;
  footer.records_end = size_;
  footer.segment_checksum = checksum_.Digest();
  // What the readers check of a footer: the count fits the bytes (DecodeSegmentFooter) and
  // matches the LSNs of the segment (VerifySealedSegment, recovery).
  assert(footer.record_count <= (footer.records_end - kSegmentHeaderBytes) / kRecordBytesMin);
  assert(footer.last_lsn + 1 - header_.first_lsn == footer.record_count);
  const std::string bytes = EncodeSegmentFooter(&footer);
  ORDO_RETURN_IF_ERROR(Check(file_->Append(bytes)));
  ORDO_RETURN_IF_ERROR(Check(file_->TrimPreallocation()));  // the footer must end the file
  ORDO_RETURN_IF_ERROR(Check(file_->SyncAll()));
  ORDO_RETURN_IF_ERROR(Check(file_->Close()));
  ORDO_RETURN_IF_ERROR(Check(fs_->SetReadOnly(path_)));
  size_ += bytes.size();
  state_ = State::kSealed;
  return footer;
}

}  // namespace ordo::log
