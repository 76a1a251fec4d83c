# Installs what the review UI's browser test needs when it is missing: Debian's `chromium` and a
# CJK font (apt) and `playwright-core` (npm) into $BONDGATE_TOOLS_DIR/playwright, outside the checkout,
# so no node_modules ever lands in the repository. Exports BONDGATE_PLAYWRIGHT_DIR for the test
# `browser_release_leaves_the_queue_and_publishes_800` (services/review/tests/api/browser.rs),
# which starts clearance and the review service in-process and runs
# services/review/browser/review.spec.mjs with `node` against them (headless
# /usr/bin/chromium). Sourced by scripts/test; can also be sourced on its own:
#   source scripts/lib/common.sh && source scripts/lib/browser.sh

PLAYWRIGHT_CORE_VERSION="1.65.1"
playwright_dir="$BONDGATE_TOOLS_DIR/playwright"

apt_install chromium chromium
apt_install node nodejs
apt_install npm npm
# A CJK font, or the screenshot of the Chinese UI shows boxes (WenQuanYi: small, in Debian main).
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  say "installing fonts-wqy-microhei (apt-get)"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null \
    || die "could not install fonts-wqy-microhei"
fi
if [ ! -f "$playwright_dir/node_modules/playwright-core/package.json" ] \
  || ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" \
    "$playwright_dir/node_modules/playwright-core/package.json"; then
  say "installing playwright-core $PLAYWRIGHT_CORE_VERSION into $playwright_dir (npm)"
  mkdir -p "$playwright_dir"
  # playwright-core has no install script and downloads no browser: Debian's chromium is used.
  npm install --prefix "$playwright_dir" --no-save --no-audit --no-fund --loglevel=error \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null \
    || die "could not install playwright-core"
fi
export BONDGATE_PLAYWRIGHT_DIR="$playwright_dir"
say "browser test ready: $(/usr/bin/chromium --version 2>/dev/null | head -n 1), playwright-core $PLAYWRIGHT_CORE_VERSION"
