#!/usr/bin/env node
// Thin launcher so `npx gatehouse` works in a checkout: the CLI itself is compiled to dist/.
import '../dist/cli/main.js';
