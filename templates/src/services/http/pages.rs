//! Page bodies. `{name}` placeholders are filled by [`fill`]; every value put
//! into a page is HTML-escaped first.

/// Replaces `{key}` with each value.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Debian's `index.nginx-debian.html` (nginx 1.19+; 615 bytes).
pub const NGINX_DEFAULT: &str = "<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href=\"http://nginx.org/\">nginx.org</a>.<br/>
Commercial support is available at
<a href=\"http://nginx.com/\">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
";

/// The Debian Apache default page, reconstructed (same title, headings and
/// structure; not byte-identical to the packaged file).
pub const APACHE_DEFAULT: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 Debian Default Page: It works</title>
    <style type="text/css" media="screen">
  * {
    margin: 0px 0px 0px 0px;
    padding: 0px 0px 0px 0px;
  }

  body, html {
    padding: 3px 3px 3px 3px;

    background-color: #D8DBE2;

    font-family: Verdana, sans-serif;
    font-size: 11pt;
    text-align: center;
  }

  div.main_page {
    position: relative;
    display: table;

    width: 800px;

    margin-bottom: 3px;
    margin-left: auto;
    margin-right: auto;
    padding: 0px 0px 0px 0px;

    border-width: 2px;
    border-color: #212738;
    border-style: solid;

    background-color: #FFFFFF;

    text-align: center;
  }

  div.page_header {
    height: 99px;
    width: 100%;

    background-color: #F5F6F7;
  }

  div.page_header span {
    margin: 15px 0px 0px 50px;

    font-size: 180%;
    font-weight: bold;
  }

  div.page_header img {
    margin: 3px 0px 0px 40px;

    border: 0px 0px 0px;
  }

  div.content_section {
    margin: 3px 3px 3px 3px;

    background-color: #FFFFFF;

    text-align: left;
  }

  div.section_header {
    padding: 3px 6px 3px 6px;

    background-color: #8E9CB2;

    color: #FFFFFF;
    font-weight: bold;
    font-size: 112%;
    text-align: center;
  }

  div.section_header_red {
    background-color: #CD214F;
  }

  div.section_header_grey {
    background-color: #9F9386;
  }

  .floating_element {
    position: relative;
    float: left;
  }

  div.content_section_text {
    padding: 4px 8px 4px 8px;

    color: #000000;
    font-size: 100%;
  }

  div.content_section_text pre {
    padding: 4px 8px 4px 8px;

    border-width: 1px 1px 1px 1px;
    border-style: dotted;
    border-color: #000000;

    background-color: #F5F6F7;

    font-style: italic;
  }

  div.content_section_text p {
    margin-bottom: 6px;
  }

  div.content_section_text ul, div.content_section_text li {
    padding: 4px 8px 4px 16px;
  }

  div.section_header {
    clear: both;
  }

  div.validator {
  }

    </style>
  </head>
  <body>
    <div class="main_page">
      <div class="page_header floating_element">
        <img src="/icons/openlogo-75.png" alt="Debian Logo" class="floating_element"/>
        <span class="floating_element">
          Apache2 Debian Default Page
        </span>
      </div>
      <div class="content_section floating_element">


        <div class="section_header section_header_red">
          <div id="about"></div>
          It works!
        </div>
        <div class="content_section_text">
          <p>
                This is the default welcome page used to test the correct 
                operation of the Apache2 server after installation on Debian systems.
                If you can read this page, it means that the Apache HTTP server installed at
                this site is working properly. You should <b>replace this file</b> (located at
                <tt>/var/www/html/index.html</tt>) before continuing to operate your HTTP server.
          </p>


          <p>
                If you are a normal user of this web site and don't know what this page is
                about, this probably means that the site is currently unavailable due to
                maintenance.
                If the problem persists, please contact the site's administrator.
          </p>

        </div>
        <div class="section_header">
          <div id="changes"></div>
                Configuration Overview
        </div>
        <div class="content_section_text">
          <p>
                Debian's Apache2 default configuration is different from the
                upstream default configuration, and split into several files optimized for
                interaction with Debian tools. The configuration system is
                <b>fully documented in
                /usr/share/doc/apache2/README.Debian.gz</b>. Refer to this for the full
                documentation. Documentation for the web server itself can be
                found by accessing the <a href="/manual">manual</a> if the <tt>apache2-doc</tt>
                package was installed on this server.
          </p>
          <p>
                The configuration layout for an Apache2 web server installation on Debian systems is as follows:
          </p>
          <pre>
/etc/apache2/
|-- apache2.conf
|       `--  ports.conf
|-- mods-enabled
|       |-- *.load
|       `-- *.conf
|-- conf-enabled
|       `-- *.conf
|-- sites-enabled
|       `-- *.conf
          </pre>
          <ul>
                        <li>
                           <tt>apache2.conf</tt> is the main configuration
                           file. It puts the pieces together by including all remaining configuration
                           files when starting up the web server.
                        </li>

                        <li>
                           <tt>ports.conf</tt> is always included from the
                           main configuration file. It is used to determine the listening ports for
                           incoming connections, and this file can be customized anytime.
                        </li>

                        <li>
                           Configuration files in the <tt>mods-enabled/</tt>,
                           <tt>conf-enabled/</tt> and <tt>sites-enabled/</tt> directories contain
                           particular configuration snippets which manage modules, global configuration
                           fragments, or virtual host configurations, respectively.
                        </li>

                        <li>
                           They are activated by symlinking available
                           configuration files from their respective
                           *-available/ counterparts. These should be managed
                           by using our helpers
                           <tt>
                                a2enmod,
                                a2dismod,
                           </tt>
                           <tt>
                                a2ensite,
                                a2dissite,
                            </tt>
                                and
                           <tt>
                                a2enconf,
                                a2disconf
                           </tt>. See their respective man pages for detailed information.
                        </li>

                        <li>
                           The binary is called apache2 and is managed using systemd, so to
                           start/stop the service use <tt>systemctl start apache2</tt> and
                           <tt>systemctl stop apache2</tt>, and use <tt>systemctl status apache2</tt>
                           and <tt>journalctl -u apache2</tt> to check status.  <tt>system</tt>
                           and <tt>apache2ctl</tt> can also be used for service management if
                           desired.
                           <b>Calling <tt>/usr/bin/apache2</tt> directly will not work</b> with the
                           default configuration.
                        </li>
          </ul>
        </div>

        <div class="section_header">
            <div id="docroot"></div>
                Document Roots
        </div>

        <div class="content_section_text">
            <p>
                By default, Debian does not allow access through the web browser to
                <em>any</em> file outside of those located in <tt>/var/www</tt>,
                <a href="http://httpd.apache.org/docs/2.4/mod/mod_userdir.html" rel="nofollow">public_html</a>
                directories (when enabled) and <tt>/usr/share</tt> (for web
                applications). If your site is using a web document root
                located elsewhere (such as in <tt>/srv</tt>) you may need to whitelist your
                document root directory in <tt>/etc/apache2/apache2.conf</tt>.
            </p>
            <p>
                The default Debian document root is <tt>/var/www/html</tt>. You
                can make your own virtual hosts under /var/www.
            </p>
        </div>

        <div class="section_header">
          <div id="bugs"></div>
                Reporting Problems
        </div>
        <div class="content_section_text">
          <p>
                Please use the <tt>reportbug</tt> tool to report bugs in the
                Apache2 package with Debian. However, check <a
                href="https://bugs.debian.org/cgi-bin/pkgreport.cgi?ordering=normal;archive=0;src=apache2;repeatmerged=0"
                rel="nofollow">existing bug reports</a> before reporting a new bug.
          </p>
          <p>
                Please report bugs specific to modules (such as PHP and others)
                to their respective packages, not to the web server itself.
          </p>
        </div>




      </div>
    </div>
    <div class="validator">
    </div>
  </body>
</html>

"#;

/// WordPress `wp-login.php`.
pub const WP_LOGIN: &str = r#"<!DOCTYPE html>
<html lang="en-US">
	<head>
	<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
	<title>Log In &lsaquo; {site} &#8212; WordPress</title>
	<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' id='dashicons-css' href='{base}/wp-includes/css/dashicons.min.css?ver={ver}' type='text/css' media='all' />
<link rel='stylesheet' id='buttons-css' href='{base}/wp-includes/css/buttons.min.css?ver={ver}' type='text/css' media='all' />
<link rel='stylesheet' id='forms-css' href='{base}/wp-admin/css/forms.min.css?ver={ver}' type='text/css' media='all' />
<link rel='stylesheet' id='l10n-css' href='{base}/wp-admin/css/l10n.min.css?ver={ver}' type='text/css' media='all' />
<link rel='stylesheet' id='login-css' href='{base}/wp-admin/css/login.min.css?ver={ver}' type='text/css' media='all' />
	<meta name='referrer' content='strict-origin-when-cross-origin' />
		<meta name="viewport" content="width=device-width" />
		</head>
	<body class="login no-js login-action-login wp-core-ui  locale-en-us">
	<script type="text/javascript">
/* <![CDATA[ */
document.body.className = document.body.className.replace('no-js','js');
/* ]]> */
</script>
				<h1 class="screen-reader-text">Log In</h1>
			<div id="login">
		<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
	{error}
		<form name="loginform" id="loginform" action="{base}/wp-login.php" method="post">
			<p>
				<label for="user_login">Username or Email Address</label>
				<input type="text" name="log" id="user_login"{invalid} class="input" value="{user}" size="20" autocapitalize="off" autocomplete="username" required="required" />
			</p>

			<div class="user-pass-wrap">
				<label for="user_pass">Password</label>
				<div class="wp-pwd">
					<input type="password" name="pwd" id="user_pass"{invalid} class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required" />
					<button type="button" class="button button-secondary wp-hide-pw hide-if-no-js" data-toggle="0" aria-label="Show password">
						<span class="dashicons dashicons-visibility" aria-hidden="true"></span>
					</button>
				</div>
			</div>
						<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"  /> <label for="rememberme">Remember Me</label></p>
			<p class="submit">
				<input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In" />
									<input type="hidden" name="redirect_to" value="{base}/wp-admin/" />
									<input type="hidden" name="testcookie" value="1" />
			</p>
		</form>

					<p id="nav">
				<a class="wp-login-lost-password" href="{base}/wp-login.php?action=lostpassword">Lost your password?</a>			</p>
			<script type="text/javascript">
/* <![CDATA[ */
function wp_attempt_focus() {setTimeout( function() {try {d = document.getElementById( "user_login" );d.focus(); d.select();} catch( er ) {}}, 200);}
wp_attempt_focus();
if ( typeof wpOnload === 'function' ) { wpOnload() }
/* ]]> */
</script>
		<p id="backtoblog">
			<a href="{base}/">&larr; Go to {site}</a>		</p>
			</div>
				<script type="text/javascript" src="{base}/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/jquery/jquery-migrate.min.js?ver=3.4.1" id="jquery-migrate-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/zxcvbn-async.min.js?ver=1.0" id="zxcvbn-async-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/dist/hooks.min.js?ver={ver}" id="wp-hooks-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/dist/i18n.min.js?ver={ver}" id="wp-i18n-js"></script>
<script type="text/javascript" src="{base}/wp-admin/js/password-strength-meter.min.js?ver={ver}" id="password-strength-meter-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/underscore.min.js?ver=1.13.4" id="underscore-js"></script>
<script type="text/javascript" src="{base}/wp-includes/js/wp-util.min.js?ver={ver}" id="wp-util-js"></script>
<script type="text/javascript" src="{base}/wp-admin/js/user-profile.min.js?ver={ver}" id="user-profile-js"></script>
	</body>
	</html>
	"#;

/// The WordPress front page (a block theme's home with the sample post).
pub const WP_HOME: &str = r#"<!DOCTYPE html>
<html lang="en-US">
<head>
	<meta charset="UTF-8" />
	<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name='robots' content='max-image-preview:large' />
<title>{site}</title>
<link rel="alternate" type="application/rss+xml" title="{site} &raquo; Feed" href="{base}/feed/" />
<link rel="alternate" type="application/rss+xml" title="{site} &raquo; Comments Feed" href="{base}/comments/feed/" />
<link rel="https://api.w.org/" href="{base}/wp-json/" /><link rel="EditURI" type="application/rsd+xml" title="RSD" href="{base}/xmlrpc.php?rsd" />
<meta name="generator" content="WordPress {ver}" />
</head>

<body class="home blog wp-embed-responsive">

<div class="wp-site-blocks"><header class="wp-block-template-part">
<div class="wp-block-group alignwide">
<p class="wp-block-site-title"><a href="{base}" target="_self" rel="home" aria-current="page">{site}</a></p>
</div>
</header>

<main class="wp-block-group">
<h2 class="wp-block-post-title"><a href="{base}/?p=1" target="_self" >Hello world!</a></h2>
<div class="entry-content wp-block-post-content"><p>Welcome to WordPress. This is your first post. Edit or delete it, then start writing!</p></div>
</main>

<footer class="wp-block-template-part">
<p class="has-text-align-center">Designed with <a href="https://wordpress.org" rel="nofollow">WordPress</a></p>
</footer></div>
</body>
</html>
"#;

/// phpMyAdmin 5.2 login page.
pub const PMA_LOGIN: &str = r#"<!DOCTYPE HTML>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <meta name="robots" content="noindex,nofollow,notranslate">
  <meta name="google" content="notranslate">
  <style id="cfs-style">html{display: none;}</style>
  <link rel="icon" href="favicon.ico" type="image/x-icon">
  <link rel="shortcut icon" href="favicon.ico" type="image/x-icon">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/jquery/jquery-ui.css">
  <link rel="stylesheet" type="text/css" href="js/vendor/codemirror/lib/codemirror.css?v={ver}">
  <link rel="stylesheet" type="text/css" href="js/vendor/codemirror/addon/hint/show-hint.css?v={ver}">
  <link rel="stylesheet" type="text/css" href="js/vendor/codemirror/addon/lint/lint.css?v={ver}">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/css/theme.css?v={ver}">
  <title>phpMyAdmin</title>
    <script data-cfasync="false" type="text/javascript" src="js/vendor/jquery/jquery.min.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/vendor/jquery/jquery-migrate.min.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/vendor/sprintf.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/ajax.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/keyhandler.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/vendor/bootstrap/bootstrap.bundle.min.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/messages.php?l=en&v={ver}&lang=en"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/shared.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/functions.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/main.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/config.js?v={ver}"></script>
  <script data-cfasync="false" type="text/javascript">
// <![CDATA[
CommonParams.setAll({common_query:"",opendb_url:"index.php?route=/database/structure",lang:"en",server:"1",table:"",db:"",token:"{token}",text_dir:"ltr",LimitChars:"50",pftext:"",confirm:true,LoginCookieValidity:"1440",session_gc_maxlifetime:"1440",logged_in:false,is_https:false,rootPath:"/",arg_separator:"&",version:"{ver}",auth_type:"cookie",user:"root"});
var firstDayOfCalendar = '0';
var themeImagePath = '.\/themes\/pmahomme\/img\/';
var mysqlDocTemplate = '.\/url.php\u003Furl\u003Dhttps\u00253A\u00252F\u00252Fdev.mysql.com\u00252Fdoc\u00252Frefman\u00252F5.5\u00252Fen\u00252F\u002525s.html';
var maxInputVars = 1000;

if ($.datepicker) {
  $.datepicker.regional[''].closeText = 'Done';
  $.datepicker.setDefaults($.datepicker.regional['']);
}

AJAX.scriptHandler
  .add('vendor/jquery/jquery.min.js', 0)
  .add('vendor/jquery/jquery-migrate.min.js', 0)
  .add('vendor/sprintf.js', 1)
  .add('ajax.js', 0)
  .add('keyhandler.js', 1)
  .add('vendor/bootstrap/bootstrap.bundle.min.js', 1)
  .add('shared.js', 1)
  .add('functions.js', 1)
  .add('main.js', 1)
  .add('config.js', 1);

$(function() {
        AJAX.fireOnload('shared.js');
  AJAX.fireOnload('functions.js');
  AJAX.fireOnload('main.js');
  AJAX.fireOnload('config.js');
  });
// ]]>
</script>
  <noscript><style>html{display:block}</style></noscript>
</head>
<body id="loginform">
  <div id="page_content">
<div class="container">
<a href="./url.php?url=https%3A%2F%2Fwww.phpmyadmin.net%2F" target="_blank" rel="noopener noreferrer" class="logo">
  <img src="./themes/pmahomme/img/logo_right.png" id="imLogo" name="imLogo" alt="phpMyAdmin" border="0">
</a>
<h1>
  Welcome to <bdo dir="ltr" lang="en">phpMyAdmin</bdo>
</h1>

<noscript>
  <div class="alert alert-danger" role="alert">
  <img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> Javascript must be enabled past this point!
</div>

</noscript>

<div class="hide" id="js-https-mismatch">
  <div class="alert alert-danger" role="alert">
  <img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> There is a mismatch between HTTPS indicated on the server and client. This can lead to a non working phpMyAdmin or a security risk. Please fix your server configuration to indicate HTTPS properly.
</div>

</div>

<div class="mb-3">
  <form method="get" action="index.php?route=/" class="disableAjax">
    <input type="hidden" name="db" value=""><input type="hidden" name="table" value=""><input type="hidden" name="token" value="{token}">

          <fieldset class="pma-fieldset">
        <legend lang="en" dir="ltr">Language</legend>
    
    <select name="lang" class="form-select autosubmit w-auto" lang="en" dir="ltr" id="languageSelect">
                  <option value="en" selected>English</option>
                    </select>

          </fieldset>
      </form>
</div>
{error}
<br>
<!-- Login form -->
<form method="post" id="login_form" action="index.php?route=/" name="login_form" class="disableAjax hide js-show form-horizontal">
      <fieldset class="pma-fieldset">
    <legend>
      <input type="hidden" name="set_session" value="{session}">
      Log in
      <a href="./doc/html/index.html" target="documentation"><img src="themes/dot.gif" title="Documentation" alt="Documentation" class="icon ic_b_help"></a>
    </legend>

    <div class="row mb-3">
      <div class="col-sm-4">
        <label for="input_username" class="form-label">
          Username:
        </label>
      </div>
      <div class="col-sm-8">
        <input type="text" name="pma_username" id="input_username" value="{user}" class="form-control" autocomplete="username" spellcheck="false">
      </div>
    </div>

    <div class="row">
      <div class="col-sm-4">
        <label for="input_password" class="form-label">
          Password:
        </label>
      </div>
      <div class="col-sm-8">
        <input type="password" name="pma_password" id="input_password" value="" class="form-control" autocomplete="current-password" spellcheck="false">
      </div>
    </div>

        <input type="hidden" name="server" value="1">
      </fieldset>

  <fieldset class="pma-fieldset tblFooters">
    <input class="btn btn-primary" value="Log in" type="submit" id="input_go">
          <input type="hidden" name="route" value="/">
          <input type="hidden" name="token" value="{token}">
          <input type="hidden" name="set_session" value="{session}">
  </fieldset>
</form>

  </div>
</div>
</body>
</html>
"#;

/// A consumer router's web login.
pub const ROUTER_LOGIN: &str = r#"<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta http-equiv="X-UA-Compatible" content="IE=edge" />
<meta http-equiv="Pragma" content="no-cache" />
<meta http-equiv="Cache-Control" content="no-cache, no-store, must-revalidate" />
<meta http-equiv="Expires" content="0" />
<title>{vendor} {model}</title>
<link rel="stylesheet" type="text/css" href="/css/login.css?v={fw}" />
<script type="text/javascript" src="/js/jquery.min.js"></script>
<script type="text/javascript" src="/js/login.js?v={fw}"></script>
</head>
<body onload="document.forms[0].username.focus();">
<div id="login-container">
  <div class="login-header">
    <span class="brand">{vendor}</span>
    <span class="model">{model}</span>
  </div>
  <form name="login" method="post" action="/login.cgi" autocomplete="off">
    <input type="hidden" name="submit_button" value="login" />
    <input type="hidden" name="action" value="Apply" />
    <div class="field"><label for="username">Username</label>
      <input type="text" id="username" name="username" maxlength="32" value="{user}" /></div>
    <div class="field"><label for="password">Password</label>
      <input type="password" id="password" name="password" maxlength="64" value="" /></div>
    {error}
    <div class="field"><input type="submit" class="button" value="Log In" /></div>
  </form>
  <div class="login-footer">Firmware Version: {fw}</div>
</div>
</body>
</html>
"#;

/// Tomcat's 401 page for the manager applications.
pub const TOMCAT_401: &str = r#"<!doctype html><html lang="en"><head><title>HTTP Status 401 – Unauthorized</title><style type="text/css">body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;background-color:#525D76;} h1 {font-size:22px;} h2 {font-size:16px;} h3 {font-size:14px;} p {font-size:12px;} a {color:black;} .line {height:1px;background-color:#525D76;border:none;}</style></head><body><h1>HTTP Status 401 – Unauthorized</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> Unauthorized</p><p><b>Description</b> The request has not been applied to the target resource because it lacks valid authentication credentials for that resource.</p><hr class="line" /><h3>Apache Tomcat/{ver}</h3></body></html>"#;

/// Tomcat's default ROOT page (abridged).
pub const TOMCAT_HOME: &str = r#"<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="UTF-8" />
        <title>Apache Tomcat/{ver}</title>
        <link href="favicon.ico" rel="icon" type="image/x-icon" />
        <link href="tomcat.css" rel="stylesheet" type="text/css" />
    </head>

    <body>
        <div id="wrapper">
            <div id="navigation" class="curved container">
                <span id="nav-home"><a href="https://tomcat.apache.org/">Home</a></span>
                <span id="nav-hosts"><a href="/docs/">Documentation</a></span>
                <span id="nav-config"><a href="/docs/config/">Configuration</a></span>
                <span id="nav-examples"><a href="/examples/">Examples</a></span>
                <span id="nav-wiki"><a href="https://cwiki.apache.org/confluence/display/TOMCAT/">Wiki</a></span>
                <span id="nav-lists"><a href="https://tomcat.apache.org/lists.html">Mailing Lists</a></span>
                <span id="nav-help"><a href="https://tomcat.apache.org/findhelp.html">Find Help</a></span>
                <br class="separator" />
            </div>
            <div id="asf-box">
                <h1>Apache Tomcat/{ver}</h1>
            </div>
            <div id="upper" class="curved container">
                <div id="congrats" class="curved container">
                    <h2>If you're seeing this, you've successfully installed Tomcat. Congratulations!</h2>
                </div>
                <div id="notice">
                    <img src="tomcat.svg" alt="[tomcat logo]" />
                    <div id="tasks">
                        <h3>Recommended Reading:</h3>
                        <h4><a href="/docs/security-howto.html">Security Considerations How-To</a></h4>
                        <h4><a href="/docs/manager-howto.html">Manager Application How-To</a></h4>
                        <h4><a href="/docs/cluster-howto.html">Clustering/Session Replication How-To</a></h4>
                    </div>
                </div>
                <div id="actions">
                    <div class="button">
                        <a class="container shadow" href="/manager/status"><span>Server Status</span></a>
                    </div>
                    <div class="button">
                        <a class="container shadow" href="/manager/html"><span>Manager App</span></a>
                    </div>
                    <div class="button">
                        <a class="container shadow" href="/host-manager/html"><span>Host Manager</span></a>
                    </div>
                </div>
                <br class="separator" />
            </div>
            <p class="copyright">Copyright &copy;1999-{year} Apache Software Foundation.  All Rights Reserved</p>
        </div>
    </body>

</html>
"#;

/// Jenkins sign-in page (abridged).
pub const JENKINS_LOGIN: &str = r#"<!DOCTYPE html><html lang="en-US"><head resURL="/static/{res}" data-rooturl="" data-resurl="/static/{res}" data-imagesurl="/static/{res}/images"><title>Sign in [Jenkins]</title><meta name="ROBOTS" content="NOFOLLOW"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/{res}/jsbundles/simple-page.css" type="text/css"></head><body><div class="simple-page" role="main"><div class="modal login"><div id="loginIntroDefault"><div class="logo"><img src="/static/{res}/images/svgs/logo.svg" alt="Jenkins logo"></div><h1>Sign in to Jenkins</h1></div><form method="post" name="login" action="j_spring_security_check">{error}<div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_username">Username</label><input autocorrect="off" autocomplete="username" name="j_username" id="j_username" placeholder="Username" type="text" class="jenkins-input normal" autocapitalize="off" aria-label="Username"></div><div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_password">Password</label><input autocomplete="current-password" name="j_password" id="j_password" placeholder="Password" type="password" class="jenkins-input normal" aria-label="Password"></div><div class="jenkins-checkbox"><input type="checkbox" id="remember_me" name="remember_me"><label for="remember_me">Keep me signed in</label></div><input name="from" type="hidden"><div class="submit"><button type="submit" name="Submit" class="jenkins-button jenkins-button--primary">Sign in</button></div></form><div class="footer"></div></div></div></body></html>"#;
