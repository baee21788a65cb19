// The IDX reader and writer: round trips of every dtype, plain and gzip; hand-written big-endian files of every
// type code; corrupt and truncated files (each error names the file and what is wrong); MNIST-style datasets from
// IDX pairs; and the real Fashion-MNIST where Debian's dataset-fashion-mnist package installs it.
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "test_data_helpers.h"

namespace {

void write_raw(const std::string &path, const std::vector<unsigned char> &bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write((const char *)bytes.data(), (std::streamsize)bytes.size());
}

void write_gz(const std::string &path, const std::vector<unsigned char> &bytes) {
    gzFile gz = gzopen(path.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, bytes.data(), (unsigned)bytes.size()), (int)bytes.size());
    gzclose(gz);
}

std::vector<unsigned char> read_raw(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

// An IDX header: type code, then the dims big-endian.
std::vector<unsigned char> header(unsigned char code, std::vector<uint32_t> dims) {
    std::vector<unsigned char> h = {0, 0, code, (unsigned char)dims.size()};
    for (uint32_t d : dims) h.insert(h.end(), {(unsigned char)(d >> 24), (unsigned char)(d >> 16), (unsigned char)(d >> 8), (unsigned char)d});
    return h;
}

std::vector<unsigned char> concat(std::vector<unsigned char> a, const std::vector<unsigned char> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Expects ct_idx_read(path) to fail with status and a message naming the file and containing words.
void expect_read_error(const std::string &path, ct_status status, const std::string &words) {
    ct_tensor *t = ct_idx_read(path.c_str());
    EXPECT_EQ(t, nullptr);
    ct_release(t);
    EXPECT_EQ(ct_last_status(), status) << ct_last_error();
    std::string msg = ct_last_error();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
    ct_clear_error();
}

} // namespace

TEST(Idx, RoundTripOfEveryDtypePlainAndGzip) {
    dt::TempDir dir;
    struct {
        std::vector<double> values;
        std::vector<int64_t> shape;
        ct_dtype dtype;
    } cases[] = {
        {{0, 1, 127, 128, 254, 255}, {2, 3}, CT_UINT8},
        {{-2147483648.0, -1, 0, 2147483647.0}, {4}, CT_INT32},
        {{0.5, -1.25, 3e-5, 1e30, -0.0, 7, 8, 9}, {2, 2, 2}, CT_FLOAT32},
        {{0.1, -1e300, 5e-324}, {3}, CT_FLOAT64},
        {{}, {0, 5}, CT_UINT8},
    };
    for (auto &c : cases)
        for (bool gzip : {false, true}) {
            ct_tensor *t = dt::tensor(c.values, c.shape, c.dtype);
            std::string path = dir.file(std::string("t.idx") + (gzip ? ".gz" : ""));
            ASSERT_EQ(ct_idx_write(path.c_str(), t, gzip), CT_OK) << ct_last_error();
            ct_tensor *r = ct_idx_read(path.c_str());
            ASSERT_NE(r, nullptr) << ct_last_error();
            EXPECT_EQ(ct_tensor_dtype(r), c.dtype);
            EXPECT_EQ(dt::shape(r), c.shape);
            EXPECT_EQ(dt::values(r), dt::values(t)) << ct_dtype_name(c.dtype) << (gzip ? " gzip" : " plain");
            std::vector<unsigned char> bytes = read_raw(path);
            EXPECT_EQ(bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b, gzip) << "gzip magic";
            ct_release(t), ct_release(r);
        }
}

TEST(Idx, WritesBigEndianAsTheFormatSays) {
    dt::TempDir dir;
    ct_tensor *t = dt::tensor({1, -2}, {2}, CT_INT32);
    std::string path = dir.file("i.idx");
    ASSERT_EQ(ct_idx_write(path.c_str(), t, false), CT_OK);
    EXPECT_EQ(read_raw(path), concat(header(0x0C, {2}), {0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE}));
    ct_release(t);
}

TEST(Idx, ReadsEveryTypeCodeFromHandWrittenFiles) {
    dt::TempDir dir;
    struct {
        unsigned char code;
        std::vector<unsigned char> data;
        ct_dtype dtype;
        std::vector<double> values;
    } cases[] = {
        {0x08, {0, 200}, CT_UINT8, {0, 200}},
        {0x09, {0x80, 0x7F}, CT_INT32, {-128, 127}},
        {0x0B, {0x00, 0x01, 0xFF, 0xFE}, CT_INT32, {1, -2}},
        {0x0C, {0x80, 0, 0, 0, 0, 0, 1, 0}, CT_INT32, {-2147483648.0, 256}},
        {0x0D, {0x3F, 0xC0, 0, 0, 0xC0, 0x20, 0, 0}, CT_FLOAT32, {1.5, -2.5}},
        {0x0E, {0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}, CT_FLOAT64,
         {1.0, 3.141592653589793}},
    };
    for (auto &c : cases) {
        std::string path = dir.file("h.idx");
        write_raw(path, concat(header(c.code, {2}), c.data));
        ct_tensor *t = ct_idx_read(path.c_str());
        ASSERT_NE(t, nullptr) << ct_last_error();
        EXPECT_EQ(ct_tensor_dtype(t), c.dtype) << (int)c.code;
        EXPECT_EQ(dt::values(t), c.values) << (int)c.code;
        ct_release(t);
    }
}

TEST(Idx, HeaderErrorsNameTheFileAndTheProblem) {
    dt::TempDir dir;
    std::string p = dir.file("bad.idx");
    expect_read_error(dir.file("missing.idx"), CT_ERR_IO, "cannot open");
    write_raw(p, {0, 0});
    expect_read_error(p, CT_ERR_FORMAT, "is truncated: the magic number needs 4 bytes, only 2 are there");
    write_raw(p, concat({0x01, 0x02, 0x08, 0x01}, {0, 0, 0, 1, 7}));
    expect_read_error(p, CT_ERR_FORMAT, "is not an IDX file: its magic number 0x01020801");
    write_raw(p, concat(header(0x0A, {1}), {7}));
    expect_read_error(p, CT_ERR_FORMAT, "unknown IDX type code 0x0A");
    write_raw(p, {0, 0, 0x08, 0});
    expect_read_error(p, CT_ERR_FORMAT, "declares 0 dims (1 to 8 supported)");
    write_raw(p, header(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 1}));
    expect_read_error(p, CT_ERR_FORMAT, "declares 9 dims");
    write_raw(p, {0, 0, 0x08, 3, 0, 0, 0, 2});
    expect_read_error(p, CT_ERR_FORMAT, "is truncated: the dims needs 12 bytes, only 4 are there");
}

TEST(Idx, DataSizeErrorsInPlainFiles) {
    dt::TempDir dir;
    std::string p = dir.file("bad.idx");
    write_raw(p, concat(header(0x08, {2, 3}), {1, 2, 3, 4}));
    expect_read_error(p, CT_ERR_FORMAT, "is truncated: dims [2, 3] need 6 bytes of data after the 12-byte header, but "
                                        "the file has 4");
    write_raw(p, concat(header(0x0D, {2}), {0, 0, 0, 0, 0, 0, 0, 0, 9}));
    expect_read_error(p, CT_ERR_FORMAT, "has 1 bytes after the 8 bytes of data that dims [2] describe");
    write_raw(p, header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}));
    expect_read_error(p, CT_ERR_FORMAT, "whose product overflows");
}

TEST(Idx, TruncatedAndCorruptGzipFiles) {
    dt::TempDir dir;
    std::vector<unsigned char> payload = header(0x08, {100, 100});
    for (int i = 0; i < 10000; i++) payload.push_back((unsigned char)(i * 7919 % 251));
    std::string good = dir.file("good.idx.gz");
    write_gz(good, payload);
    ct_tensor *t = ct_idx_read(good.c_str());
    ASSERT_NE(t, nullptr) << ct_last_error();
    EXPECT_EQ(dt::shape(t), (std::vector<int64_t>{100, 100}));
    ct_release(t);
    std::vector<unsigned char> bytes = read_raw(good);
    // cut in half: the stream ends early
    std::string cut = dir.file("cut.idx.gz");
    write_raw(cut, std::vector<unsigned char>(bytes.begin(), bytes.begin() + (long)bytes.size() / 2));
    ct_tensor *r = ct_idx_read(cut.c_str());
    EXPECT_EQ(r, nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_FORMAT);
    std::string msg = ct_last_error();
    EXPECT_TRUE(msg.find("is truncated") != std::string::npos || msg.find("is corrupt") != std::string::npos) << msg;
    EXPECT_NE(msg.find(cut), std::string::npos) << msg;
    ct_clear_error();
    // bytes flipped in the middle of the deflate stream: an inflate error or a CRC mismatch
    std::string flipped = dir.file("flipped.idx.gz");
    std::vector<unsigned char> bad = bytes;
    for (size_t i = bad.size() / 2; i < bad.size() / 2 + 8; i++) bad[i] ^= 0x5A;
    write_raw(flipped, bad);
    r = ct_idx_read(flipped.c_str());
    EXPECT_EQ(r, nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_FORMAT);
    msg = ct_last_error();
    EXPECT_TRUE(msg.find("is corrupt") != std::string::npos || msg.find("is truncated") != std::string::npos) << msg;
    ct_clear_error();
    // data beyond what the dims describe
    std::string longer = dir.file("longer.idx.gz");
    write_gz(longer, concat(header(0x08, {2}), {1, 2, 3}));
    expect_read_error(longer, CT_ERR_FORMAT, "has data after the 2 bytes its dims describe");
    // dims far beyond what the compressed bytes could inflate to: refused before allocating
    std::string huge = dir.file("huge.idx.gz");
    write_gz(huge, concat(header(0x0E, {100000, 100000, 100}), {1, 2, 3}));
    expect_read_error(huge, CT_ERR_FORMAT, "more than its");
}

TEST(Idx, WriterErrors) {
    dt::TempDir dir;
    ct_tensor *i64 = dt::tensor({1}, {1}, CT_INT64), *scalar = dt::tensor({1}, {}, CT_UINT8);
    EXPECT_EQ(ct_idx_write(dir.file("a").c_str(), i64, false), CT_ERR_DTYPE);
    EXPECT_CT_ERROR(CT_ERR_DTYPE, "IDX has no type code for int64");
    EXPECT_EQ(ct_idx_write(dir.file("a").c_str(), scalar, false), CT_ERR_SHAPE);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "0-d");
    ct_tensor *ok = dt::tensor({1}, {1}, CT_UINT8);
    EXPECT_EQ(ct_idx_write((dir.path + "/no/such/dir/a").c_str(), ok, false), CT_ERR_IO);
    EXPECT_CT_ERROR(CT_ERR_IO, "cannot open");
    ct_release(i64), ct_release(scalar), ct_release(ok);
}

TEST(Idx, MnistDatasetFromAPairOfFiles) {
    dt::TempDir dir;
    std::vector<double> pixels;
    for (int i = 0; i < 5 * 2 * 3; i++) pixels.push_back(i);
    ct_tensor *images = dt::tensor(pixels, {5, 2, 3}, CT_UINT8), *labels = dt::tensor({3, 1, 4, 1, 5}, {5}, CT_UINT8);
    std::string ip = dir.file("images.gz"), lp = dir.file("labels");
    ASSERT_EQ(ct_idx_write(ip.c_str(), images, true), CT_OK);
    ASSERT_EQ(ct_idx_write(lp.c_str(), labels, false), CT_OK);
    ct_dataset *ds = ct_mnist_dataset(ip.c_str(), lp.c_str());
    ASSERT_NE(ds, nullptr) << ct_last_error();
    int64_t n;
    ASSERT_EQ(ct_dataset_len(ds, &n), CT_OK);
    EXPECT_EQ(n, 5);
    ct_sample s;
    ASSERT_EQ(ct_dataset_get(ds, 2, &s), CT_OK);
    EXPECT_EQ(dt::shape(s.field[0]), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(ct_tensor_dtype(s.field[0]), CT_UINT8);
    EXPECT_EQ(dt::values(s.field[0]), (std::vector<double>{12, 13, 14, 15, 16, 17}));
    EXPECT_EQ(ct_tensor_dtype(s.field[1]), CT_INT64);
    EXPECT_EQ(dt::values(s.field[1]), (std::vector<double>{4}));
    ct_sample_release(&s);
    ct_dataset_release(ds);
    // four labels for five images
    ct_tensor *four = dt::tensor({1, 2, 3, 4}, {4}, CT_UINT8);
    ASSERT_EQ(ct_idx_write(lp.c_str(), four, false), CT_OK);
    EXPECT_EQ(ct_mnist_dataset(ip.c_str(), lp.c_str()), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "has 5 images but");
    // the files swapped
    EXPECT_EQ(ct_mnist_dataset(lp.c_str(), ip.c_str()), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "expected uint8 images (N, H, W)");
    ct_release(images), ct_release(labels), ct_release(four);
}

TEST(Idx, FashionMnistFromAGivenDirectory) {
    dt::TempDir dir;
    EXPECT_EQ(ct_fashion_mnist(dir.path.c_str(), false), nullptr);
    EXPECT_CT_ERROR(CT_ERR_IO, "no file 't10k-images-idx3-ubyte' or 't10k-images-idx3-ubyte.gz' in");
    ct_tensor *images = dt::tensor(std::vector<double>(3 * 28 * 28, 7.0), {3, 28, 28}, CT_UINT8);
    ct_tensor *labels = dt::tensor({9, 0, 2}, {3}, CT_UINT8);
    ASSERT_EQ(ct_idx_write(dir.file("t10k-images-idx3-ubyte.gz").c_str(), images, true), CT_OK);
    ASSERT_EQ(ct_idx_write(dir.file("t10k-labels-idx1-ubyte").c_str(), labels, false), CT_OK);
    ct_dataset *ds = ct_fashion_mnist(dir.path.c_str(), false);
    ASSERT_NE(ds, nullptr) << ct_last_error();
    int64_t n;
    ct_dataset_len(ds, &n);
    EXPECT_EQ(n, 3);
    ct_dataset_release(ds);
    ct_release(images), ct_release(labels);
}

TEST(Idx, RealFashionMnist) {
    std::string root = CT_FASHION_MNIST_DEFAULT_ROOT;
    if (!std::filesystem::exists(root + "/train-images-idx3-ubyte.gz") &&
        !std::filesystem::exists(root + "/train-images-idx3-ubyte"))
        GTEST_SKIP() << "Fashion-MNIST is not installed at " << root << " (Debian package dataset-fashion-mnist)";
    std::string images = std::filesystem::exists(root + "/train-images-idx3-ubyte.gz")
                             ? root + "/train-images-idx3-ubyte.gz"
                             : root + "/train-images-idx3-ubyte";
    ct_tensor *raw = ct_idx_read(images.c_str());
    ASSERT_NE(raw, nullptr) << ct_last_error();
    EXPECT_EQ(dt::shape(raw), (std::vector<int64_t>{60000, 28, 28}));
    EXPECT_EQ(ct_tensor_dtype(raw), CT_UINT8);
    ct_release(raw);
    for (bool train : {true, false}) {
        ct_dataset *ds = ct_fashion_mnist(nullptr, train);
        ASSERT_NE(ds, nullptr) << ct_last_error();
        int64_t n;
        ASSERT_EQ(ct_dataset_len(ds, &n), CT_OK);
        EXPECT_EQ(n, train ? 60000 : 10000);
        // every label in 0..9, all ten present, through a loader with the full batch
        ct_dataloader_options o = {.batch_size = n};
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        ct_sample b;
        ASSERT_TRUE(ct_dataloader_next(it, &b)) << ct_last_error();
        EXPECT_EQ(dt::shape(b.field[0]), (std::vector<int64_t>{n, 1, 28, 28}));
        std::vector<double> labels = dt::values(b.field[1]);
        std::set<double> distinct(labels.begin(), labels.end());
        EXPECT_EQ(distinct, (std::set<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
        ct_sample_release(&b);
        ct_dataloader_iter_free(it);
        ct_dataloader_free(dl);
        ct_dataset_release(ds);
    }
}
