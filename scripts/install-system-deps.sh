#!/usr/bin/env bash
# Installs the Debian packages shuangsui and its tests need, only those missing.
# LibreOffice (PDF conversion, legacy formats), CJK fonts (Chinese text in PDFs: fonts-noto-cjk holds Noto Serif CJK SC,
# the face 宋体 is set in, and Noto Sans CJK SC for 黑体; pipeline/documents/fonts.py), poppler-utils
# (pdftoppm for looking at pages), fontconfig (font checks), icc-profiles-free (the sRGB profile of the
# 公示表 PDF/A), chromium (tests open the 网站公示 page headless), postgresql (the tests start a throwaway
# cluster: the store on PostgreSQL and several workers), zip and strace (tests make zips with another tool than
# Python's, and count the database's log syncs).
set -euo pipefail

packages=(libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk icc-profiles-free fonts-wqy-zenhei poppler-utils fontconfig chromium postgresql zip strace)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "系统软件包已齐全。"
  exit 0
fi

echo "正在安装系统软件包：${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "需要 root 权限安装：apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
