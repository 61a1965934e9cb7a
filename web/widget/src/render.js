// Safe rendering of bot messages: text becomes paragraphs, line breaks, links and bold text
// built as DOM nodes (never innerHTML), images only from http(s) addresses.

const TOKEN = /\[([^\]\n]{1,300})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]])|\*\*([^*\n]{1,300})\*\*/g;

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

export function safeUrl(value, base) {
  try {
    const url = new URL(String(value), base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (error) {
    return null;
  }
}

function link(label, href) {
  const url = safeUrl(href);
  if (!url) return document.createTextNode(label);
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: label });
}

function inline(parent, line) {
  let last = 0;
  for (const match of line.matchAll(TOKEN)) {
    if (match.index > last) parent.append(line.slice(last, match.index));
    if (match[1] !== undefined) parent.append(link(match[1], match[2]));
    else if (match[3] !== undefined) parent.append(link(match[3], match[3]));
    else parent.append(el("strong", { text: match[4] }));
    last = match.index + match[0].length;
  }
  if (last < line.length) parent.append(line.slice(last));
}

// "para one\n\npara two\nsame para" -> <p>para one</p><p>para two<br>same para</p>
export function richText(text) {
  const fragment = document.createDocumentFragment();
  for (const paragraph of String(text).trim().split(/\n{2,}/)) {
    const p = el("p");
    paragraph.split("\n").forEach((line, i) => {
      if (i) p.append(el("br"));
      inline(p, line);
    });
    fragment.append(p);
  }
  return fragment;
}

export function imageSource(payload, base) {
  const attachment = payload && payload.attachment;
  if (attachment && attachment.type === "image" && attachment.payload) {
    return safeUrl(attachment.payload.src, base);
  }
  return null;
}

export function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}
