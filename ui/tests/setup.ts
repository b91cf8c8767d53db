/// <reference types="vite/client" />
// Every test starts on the app's own page: index.html's body, as the
// window loads it, without its script (each test imports what it tests).

import page from "../index.html?raw";

const body = page.slice(page.indexOf("<body"), page.lastIndexOf("</body>"));
document.body.innerHTML = body
  .replace(/^<body[^>]*>/, "")
  .replace(/<script[\s\S]*?<\/script>/g, "");
document.documentElement.lang = "en";
