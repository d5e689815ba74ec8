#!/usr/bin/env bash
# Debian packages Fellwatch's tests and fixtures need: file-system tools to build fixture images
# (mkfs, mtools, ntfs-3g, debugfs, sfdisk, sgdisk, ewfacquire, qemu-img, cryptsetup,
# exfat-fuse, lvm2, genisoimage), the comparison tools
# the benchmarks run (hashdeep, foremost, The Sleuth Kit), libmagic, ffmpeg for test videos,
# PostgreSQL's server binaries, Chromium for the browser tests and the exhibit report's PDF,
# poppler-utils (pdftotext) to read that PDF back in its test.
set -euo pipefail
packages=(ntfs-3g mtools dosfstools ewf-tools fdisk gdisk hashdeep foremost testdisk qemu-utils
          exfatprogs sleuthkit libmagic1 e2fsprogs ffmpeg chromium postgresql cryptsetup-bin
          exfat-fuse lvm2 genisoimage unzip mount poppler-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing Debian packages (install them as root): ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
