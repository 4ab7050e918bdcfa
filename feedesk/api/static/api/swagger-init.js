// Reads the settings the server rendered into the page; no inline script, no CDN.
const config = JSON.parse(document.getElementById("swagger-settings").textContent);
config.dom_id = "#swagger-ui";
config.presets = [SwaggerUIBundle.presets.apis];
window.ui = SwaggerUIBundle(config);
